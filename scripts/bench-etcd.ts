/**
 * `npm run bench:etcd`: etcd and raftkv side by side on this machine, in one run. Starts a 3-member
 * etcd (Debian's etcd-server) and a 3-node raftkv formed through gossip, with the same raft timers,
 * on loopback; drives each with the same Node client over etcd's v3 API; prints a table of ops/s,
 * p50/p99 and CPU per operation with raftkv ÷ etcd ratios, and writes the JSON to --out.
 *
 *   npm run build && npm run bench:etcd -- [--duration_s 10] [--repeat 1] [--workloads all|name,...]
 *       [--systems etcd,raftkv] [--profile] [--raft_messages] [--out bench-etcd.json]
 *
 * --raft_messages starts raftkv with its metrics endpoint and adds raft messages sent per operation
 * (all members) to each raftkv line: a figure the machine's load does not move, unlike ops/s.
 *
 * A benchmark, not a test: figures depend on the machine and what else runs on it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UsageError, parseArgs, type FlagKind } from '../src/cli/client-args.js';
import { cpuSeconds, findEtcd, startEtcd, startRaftkv, stopMember, type BenchCluster } from './bench/clusters.js';
import { EtcdApi } from './bench/etcd-api.js';
import { Histogram } from './bench/histogram.js';
import { waitReady } from './bench/scale-common.js';

interface Workload {
  readonly name: string;
  readonly op: 'put' | 'get-linearizable' | 'get-serializable';
  readonly clients: number;
  readonly target: 'leader' | 'spread';
}

const WORKLOADS: readonly Workload[] = [
  { name: 'put-1-leader', op: 'put', clients: 1, target: 'leader' },
  { name: 'put-16-leader', op: 'put', clients: 16, target: 'leader' },
  { name: 'put-128-leader', op: 'put', clients: 128, target: 'leader' },
  { name: 'put-128-spread', op: 'put', clients: 128, target: 'spread' },
  { name: 'get-lin-128-leader', op: 'get-linearizable', clients: 128, target: 'leader' },
  { name: 'get-lin-128-spread', op: 'get-linearizable', clients: 128, target: 'spread' },
  { name: 'get-ser-128-leader', op: 'get-serializable', clients: 128, target: 'leader' },
];
const SYSTEMS = ['etcd', 'raftkv'] as const;
type System = (typeof SYSTEMS)[number];

const KEYS = 100_000;
const KEY_BYTES = 16;
const VALUE_BYTES = 256;
const REQUEST_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 60_000;
const FAILOVER_TRIALS = 3;
/** Per-attempt deadline while waiting for the first write after a leader kill. */
const FAILOVER_ATTEMPT_MS = 250;
/** Keys written before the read workloads, so reads find values. */
const POPULATE_KEYS = 10_000;
/** etcd's default raft timers; --heartbeat_ms/--election_ms set others (for both systems alike). */
const TIMERS_DEFAULT = { heartbeatMs: 100, electionMs: 1000 };

interface Config {
  durationS: number;
  repeat: number;
  workloads: Workload[];
  systems: System[];
  profile: boolean;
  raftMessages: boolean;
  failover: boolean;
  timers: { heartbeatMs: number; electionMs: number };
  out: string;
}

const FLAGS = new Map<string, FlagKind>([
  ['duration_s', 'int'], ['repeat', 'int'], ['workloads', 'string'], ['systems', 'string'], ['profile', 'bool'], ['raft_messages', 'bool'],
  ['no_failover', 'bool'], ['heartbeat_ms', 'int'], ['election_ms', 'int'], ['out', 'string'], ['help', 'bool'],
]);

function config(argv: string[]): Config {
  const { positionals, flags } = parseArgs(argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (flags.has('help')) {
    process.stdout.write(`usage: npm run bench:etcd -- [--duration_s 10] [--repeat 1] [--workloads all|${WORKLOADS.map((w) => w.name).join(',')}]\n       [--systems etcd,raftkv] [--no_failover] [--heartbeat_ms 100 --election_ms 1000] [--profile] [--out bench-etcd.json]\n`);
    process.exit(0);
  }
  const str = (k: string): string | undefined => { const v = flags.get(k); return typeof v === 'string' ? v : undefined; };
  const wanted = str('workloads') ?? 'all';
  const workloads = wanted === 'all' ? [...WORKLOADS] : wanted.split(',').map((n) => {
    const w = WORKLOADS.find((x) => x.name === n);
    if (!w) throw new UsageError(`unknown workload ${n}; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
    return w;
  });
  const systems = (str('systems') ?? SYSTEMS.join(',')).split(',') as System[];
  for (const s of systems) if (!SYSTEMS.includes(s)) throw new UsageError(`unknown system ${s}; known: ${SYSTEMS.join(', ')}`);
  const c: Config = {
    durationS: Number(str('duration_s') ?? 10), repeat: Number(str('repeat') ?? 1), workloads, systems,
    profile: flags.has('profile'), raftMessages: flags.has('raft_messages'), failover: !flags.has('no_failover'),
    timers: { heartbeatMs: Number(str('heartbeat_ms') ?? TIMERS_DEFAULT.heartbeatMs), electionMs: Number(str('election_ms') ?? TIMERS_DEFAULT.electionMs) },
    out: resolve(str('out') ?? 'bench-etcd.json'),
  };
  if (!(c.durationS >= 1) || !(c.repeat >= 1)) throw new UsageError('--duration_s and --repeat must be at least 1');
  if (!(c.timers.heartbeatMs >= 10) || !(c.timers.electionMs >= 5 * c.timers.heartbeatMs)) throw new UsageError('--heartbeat_ms must be at least 10 and --election_ms at least 5 heartbeats');
  return c;
}

const keyOf = (i: number): Buffer => Buffer.from(`k${String(i).padStart(KEY_BYTES - 1, '0')}`);

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface CaseResult {
  workload: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
  /** CPU milliseconds per operation, summed over the three member processes. */
  cpuMsPerOp: number;
  /** Raft messages sent per operation, all members (raftkv with --raft_messages only). */
  raftMessagesPerOp?: number;
}

/** Raft messages sent so far by every member, from their Prometheus endpoints. */
async function raftMessagesSent(c: BenchCluster): Promise<number> {
  let sum = 0;
  for (const m of c.members) {
    if (m.metrics === undefined) continue;
    const text = await (await fetch(`http://${m.metrics}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const line = text.split('\n').find((l) => l.startsWith('raftkv_transport_sent_messages_total'));
    sum += Number(line?.split(' ').at(-1) ?? 0);
  }
  return sum;
}

async function runCase(c: BenchCluster, apis: readonly EtcdApi[], leader: number, w: Workload, durationS: number, value: Buffer): Promise<CaseResult> {
  const hist = new Histogram();
  let ops = 0;
  let errors = 0;
  let firstError: string | null = null;
  const pids = c.members.map((m) => m.proc?.pid);
  const cpuNow = (): number => pids.reduce((sum: number, p) => sum + cpuSeconds(p), 0);
  const cpu0 = cpuNow();
  const msgs0 = c.system === 'raftkv' && c.members.some((m) => m.metrics !== undefined) ? await raftMessagesSent(c) : null;
  const started = performance.now();
  const endAt = started + durationS * 1000;
  await Promise.all(Array.from({ length: w.clients }, async (_, worker) => {
    const api = w.target === 'leader' ? apis[leader]! : apis[worker % apis.length]!;
    while (performance.now() < endAt) {
      const key = keyOf(Math.floor(Math.random() * (w.op === 'put' ? KEYS : POPULATE_KEYS)));
      const t0 = performance.now();
      try {
        if (w.op === 'put') await api.put(key, value, REQUEST_TIMEOUT_MS);
        else await api.get(key, w.op === 'get-serializable', REQUEST_TIMEOUT_MS);
        hist.record(performance.now() - t0);
        ops++;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  }));
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = cpuNow() - cpu0;
  const h = hist.summary();
  const msgs = msgs0 === null ? null : (await raftMessagesSent(c)) - msgs0;
  return { ...(msgs !== null && ops > 0 ? { raftMessagesPerOp: Math.round((msgs / ops) * 100) / 100 } : {}), workload: w.name, opsPerSec: Math.round(ops / elapsedS), p50Ms: h.p50, p99Ms: h.p99, errors, firstError, cpuMsPerOp: ops === 0 ? 0 : Math.round((cpu * 1000 * 1000) / ops) / 1000 };
}

async function populate(api: EtcdApi, value: Buffer): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < POPULATE_KEYS) await api.put(keyOf(next++), value, REQUEST_TIMEOUT_MS);
  }));
}

/** SIGKILL the leader; time until a write through a surviving member succeeds. Then restart it. */
async function failoverTrial(c: BenchCluster, apis: readonly EtcdApi[], leader: number): Promise<number> {
  const via = apis[(leader + 1) % apis.length]!;
  await stopMember(c.members[leader]!, 'SIGKILL');
  const t0 = performance.now();
  for (;;) {
    try {
      await via.put(Buffer.from('bench/failover'), Buffer.from(String(t0)), FAILOVER_ATTEMPT_MS);
      break;
    } catch {
      if (performance.now() - t0 > READY_TIMEOUT_MS) throw new Error('no write succeeded within a minute of the leader kill');
    }
  }
  const ms = performance.now() - t0;
  c.members[leader]!.restart();
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}

async function benchSystem(system: System, cfg: Config, scratch: string, value: Buffer): Promise<{ cases: CaseResult[]; failoverMs: number[] }> {
  const dataDir = join(scratch, system);
  const etcdBin = findEtcd();
  if (system === 'etcd' && etcdBin === null) throw new Error('etcd is not installed: apt-get install etcd-server (Debian), or run with --systems raftkv');
  const c = system === 'etcd' ? await startEtcd(etcdBin!, dataDir, cfg.timers) : await startRaftkv({ dataDir, timers: cfg.timers, ...(cfg.profile ? { profileDir: join(cfg.out, '..', 'bench-etcd-profiles') } : {}), metrics: cfg.raftMessages });
  const apis = c.members.map((m) => new EtcdApi(m.endpoint));
  try {
    let leader = await waitReady(apis, c);
    progress(`${system}: ready, leader ${c.members[leader]!.name}`);
    await populate(apis[leader]!, value);
    const cases: CaseResult[] = [];
    for (const w of cfg.workloads) {
      const runs: CaseResult[] = [];
      for (let r = 0; r < cfg.repeat; r++) runs.push(await runCase(c, apis, leader, w, cfg.durationS, value));
      const best = runs.sort((a, b) => a.opsPerSec - b.opsPerSec)[Math.floor((runs.length - 1) / 2)]!; // the median run
      progress(`${system} ${w.name}: ${best.opsPerSec} ops/s, p50 ${best.p50Ms} ms, p99 ${best.p99Ms} ms, ${best.cpuMsPerOp} CPU ms/op, ${best.errors} errors${best.raftMessagesPerOp !== undefined ? `, ${best.raftMessagesPerOp} raft messages/op` : ''}`);
      cases.push(best);
    }
    const failoverMs: number[] = [];
    for (let t = 0; cfg.failover && t < FAILOVER_TRIALS; t++) {
      failoverMs.push(Math.round(await failoverTrial(c, apis, leader)));
      leader = await waitReady(apis, c);
      progress(`${system} failover trial ${t + 1}: ${failoverMs.at(-1)} ms`);
    }
    return { cases, failoverMs };
  } finally {
    for (const a of apis) a.close();
    await c.stop();
  }
}

function table(results: Map<System, { cases: CaseResult[]; failoverMs: number[] }>, cfg: Config): string {
  const e = results.get('etcd');
  const k = results.get('raftkv');
  const cell = (r: CaseResult | undefined): string => (r ? `${r.opsPerSec} (${r.p50Ms} / ${r.p99Ms})` : '-');
  const lines = ['| workload | etcd ops/s (p50 / p99 ms) | raftkv ops/s (p50 / p99 ms) | raftkv ÷ etcd | CPU ms/op etcd | CPU ms/op raftkv |', '|---|---|---|---|---|---|'];
  for (const w of cfg.workloads) {
    const a = e?.cases.find((c) => c.workload === w.name);
    const b = k?.cases.find((c) => c.workload === w.name);
    const ratio = a && b && a.opsPerSec > 0 ? (b.opsPerSec / a.opsPerSec).toFixed(2) : '-';
    lines.push(`| ${w.name} | ${cell(a)} | ${cell(b)} | ${ratio} | ${a?.cpuMsPerOp ?? '-'} | ${b?.cpuMsPerOp ?? '-'} |`);
  }
  if (cfg.failover) {
    const fe = e ? median(e.failoverMs) : null;
    const fk = k ? median(k.failoverMs) : null;
    lines.push(`| failover: SIGKILL leader → first write ok (median of ${FAILOVER_TRIALS}, lower is better) | ${fe ?? '-'} ms | ${fk ?? '-'} ms | ${fe && fk ? (fk / fe).toFixed(2) : '-'} | | |`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  let cfg: Config;
  try {
    cfg = config(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench-etcd: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const scratch = await mkdtemp(join(tmpdir(), 'raftkv-bench-etcd-'));
  const value = randomBytes(VALUE_BYTES);
  const results = new Map<System, { cases: CaseResult[]; failoverMs: number[] }>();
  try {
    for (const s of cfg.systems) results.set(s, await benchSystem(s, cfg, scratch, value));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const md = table(results, cfg);
  process.stdout.write(`\n3 members each on loopback, ${cfg.timers.heartbeatMs} ms heartbeat / ${cfg.timers.electionMs} ms election, ${KEY_BYTES}-byte keys over ${KEYS}, ${VALUE_BYTES}-byte values, ${cfg.durationS} s per case (median of ${cfg.repeat})\n\n${md}\n`);
  await writeFile(cfg.out, `${JSON.stringify({ when: new Date().toISOString(), node: process.version, timers: cfg.timers, durationS: cfg.durationS, repeat: cfg.repeat, results: Object.fromEntries(results) }, null, 2)}\n`);
  process.stderr.write(`JSON: ${cfg.out}\n`);
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`bench-etcd: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
