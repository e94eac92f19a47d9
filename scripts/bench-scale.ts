/**
 * `npm run bench:scale`: etcd's and raftkv's scale figures side by side, measured in one run on
 * this machine (raftkv issue 14). Each case starts a fresh cluster of each system in turn (etcd
 * from Debian's etcd-server, raftkv from dist/ formed through gossip, same raft timers, loopback)
 * and drives both with the same Node client over etcd's v3 API:
 *
 *   values    puts of 4 KiB and 64 KiB values, 16 clients to the leader: ops/s, p50/p99, CPU/put
 *   million   N keys (256-byte values): load time, RSS per member, Maintenance.Snapshot size and
 *             time (and raftkv's own raft snapshot), follower restart to serving, new member catch-up
 *   watchers  W watch streams on one prefix under R puts/s: delivery latency p50/p99, CPU per member
 *   cores     one member pinned to 1 CPU vs 2 (taskset): put and serializable-get ops/s, 64 clients
 *
 *   npm run build && npm run bench:scale -- [--cases values,million,watchers,cores] [--keys 1000000]
 *       [--duration_s 10] [--watchers 1000] [--rate 1000] [--systems etcd,raftkv]
 *       [--heartbeat_ms 100 --election_ms 1000] [--out bench-scale.json]
 *
 * A benchmark, not a test: figures depend on the machine and what else runs on it.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError, parseArgs, type FlagKind } from '../src/cli/client-args.js';
import type { Timers } from './bench/clusters.js';
import { SYSTEMS, killLive, progress, startSystem, type System } from './bench/scale-common.js';
import { coresCase } from './bench/scale-cores.js';
import { millionCase } from './bench/scale-million.js';
import { scaleTable, type SystemResults } from './bench/scale-table.js';
import { valuesCase } from './bench/scale-values.js';
import { watchersCase } from './bench/scale-watchers.js';

const CASES = ['values', 'million', 'watchers', 'cores'] as const;
type Case = (typeof CASES)[number];

interface Config {
  cases: Case[];
  systems: System[];
  keys: number;
  durationS: number;
  watchers: number;
  rate: number;
  timers: Timers;
  out: string;
}

const FLAGS = new Map<string, FlagKind>([
  ['cases', 'string'], ['systems', 'string'], ['keys', 'int'], ['duration_s', 'int'], ['watchers', 'int'], ['rate', 'int'],
  ['heartbeat_ms', 'int'], ['election_ms', 'int'], ['out', 'string'], ['help', 'bool'],
]);

const USAGE = `usage: npm run bench:scale -- [--cases ${CASES.join(',')}] [--keys 1000000] [--duration_s 10]
       [--watchers 1000] [--rate 1000] [--systems etcd,raftkv] [--heartbeat_ms 100 --election_ms 1000] [--out bench-scale.json]
`;

function listFlag<T extends string>(value: string | undefined, known: readonly T[], what: string): T[] {
  const items = (value ?? known.join(',')).split(',');
  for (const x of items) if (!known.includes(x as T)) throw new UsageError(`unknown ${what} ${JSON.stringify(x)}; known: ${known.join(', ')}`);
  return items as T[];
}

function config(argv: string[]): Config | null {
  const { positionals, flags } = parseArgs(argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (flags.has('help')) return null;
  const str = (k: string): string | undefined => { const v = flags.get(k); return typeof v === 'string' ? v : undefined; };
  const int = (k: string, dflt: number): number => Number(str(k) ?? dflt);
  const c: Config = {
    cases: listFlag(str('cases'), CASES, 'case'), systems: listFlag(str('systems'), SYSTEMS, 'system'),
    keys: int('keys', 1_000_000), durationS: int('duration_s', 10), watchers: int('watchers', 1000), rate: int('rate', 1000),
    timers: { heartbeatMs: int('heartbeat_ms', 100), electionMs: int('election_ms', 1000) },
    out: resolve(str('out') ?? 'bench-scale.json'),
  };
  if (c.keys < 1 || c.durationS < 1 || c.watchers < 1 || c.rate < 1) throw new UsageError('--keys, --duration_s, --watchers and --rate must be at least 1');
  if (c.timers.heartbeatMs < 10 || c.timers.electionMs < 5 * c.timers.heartbeatMs) throw new UsageError('--heartbeat_ms must be at least 10 and --election_ms at least 5 heartbeats');
  return c;
}

/** One case on one system, each on a fresh cluster whose data is removed afterwards. */
async function runCase(kase: Case, system: System, cfg: Config, scratch: string): Promise<SystemResults[Case]> {
  const dir = join(scratch, `${system}-${kase}`);
  try {
    if (kase === 'cores') return await coresCase(system, dir, cfg.timers, cfg.durationS);
    const r = await startSystem(system, dir, cfg.timers);
    progress(`${system} ${kase}: ready, leader ${r.c.members[r.leader]!.name}`);
    try {
      if (kase === 'values') return await valuesCase(r, cfg.durationS);
      if (kase === 'million') return await millionCase(r, cfg.keys);
      return await watchersCase(r, cfg.watchers, cfg.rate, cfg.durationS);
    } finally {
      await r.close();
    }
  } catch (e) {
    progress(`${system} ${kase} failed: ${(e as Error).stack ?? String(e)}`);
    return { error: (e as Error).message };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let cfg: Config | null;
  try {
    cfg = config(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench-scale: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (cfg === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const scratch = await mkdtemp(join(tmpdir(), 'raftkv-bench-scale-'));
  // Interrupted: end the members this run started (by pid) and remove their data, then exit.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killLive();
      rmSync(scratch, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const results = new Map<System, SystemResults>(cfg.systems.map((s) => [s, {}]));
  const started = Date.now();
  try {
    // Case by case, both systems in turn, so each pair is measured close together in time.
    for (const kase of cfg.cases) {
      for (const s of cfg.systems) (results.get(s)! as Record<Case, unknown>)[kase] = await runCase(kase, s, cfg, scratch);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const md = scaleTable(results.get('etcd'), results.get('raftkv'));
  const shape = [
    cfg.cases.includes('cores') ? '3 members each (cores: 1 member)' : '3 members each', 'on loopback',
    `${cfg.timers.heartbeatMs} ms heartbeat / ${cfg.timers.electionMs} ms election`,
    ...(cfg.cases.some((c) => c !== 'million') ? [`${cfg.durationS} s per timed load`] : []),
    ...(cfg.cases.includes('million') ? [`${cfg.keys} keys`] : []),
    ...(cfg.cases.includes('watchers') ? [`${cfg.watchers} watchers at ${cfg.rate} puts/s`] : []),
  ];
  process.stdout.write(`\n${shape.join(', ')}; ${Math.round((Date.now() - started) / 1000)} s in all\n\n${md}\n`);
  await writeFile(cfg.out, `${JSON.stringify({ when: new Date().toISOString(), node: process.version, config: cfg, results: Object.fromEntries(results) }, null, 2)}\n`);
  process.stderr.write(`JSON: ${cfg.out}\n`);
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`bench-scale: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
