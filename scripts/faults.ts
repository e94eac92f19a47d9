/**
 * `npm run faults`: one or more fault runs against a real raftkv cluster (see test/faults/run.ts).
 *
 *   npm run faults -- --time 600 --faults all
 *   npm run faults -- --time 60 --faults kill,partition --nodes 5 --clients 8 --seed 7
 *   npm run faults -- --time 30 --faults partition --broken stale-reads     (must report a violation)
 *   npm run faults -- --time 300 --faults all --runs 3                      (seeds seed, seed+1, ...)
 *   npm run faults -- --time 120 --faults partition,pause,kill --membership gossip --hold_ms 3000,10000
 *       (a gossip-formed cluster under autopilot: also fails when a live voter is removed or voters drop below 3)
 *   npm run faults -- --time 120 --faults all --tls
 *       (client TLS with client certificates and peer mTLS on every node, from a throw-away CA)
 *
 * Prints progress on stderr and each run's summary as JSON on stdout; evidence goes to
 * .data/faults/<run-id>/ (or --out <dir>/<run-id>). Exit code 0 when every run is linearizable and
 * recovered (with --broken: when every run reports a violation), 1 otherwise, 2 on bad flags.
 */
import { join } from 'node:path';
import { FAULT_KINDS, type FaultKind } from '../test/faults/nemesis.js';
import { EXTRA_WORKLOADS, runFaults, runWasClean, type ExtraWorkload, type RunSummary } from '../test/faults/run.js';

const USAGE = `usage: npm run faults -- [--time seconds] [--faults ${FAULT_KINDS.join(',')}|all|none] [--nodes 3|5]
       [--clients N] [--keys N] [--seed N] [--runs N] [--broken stale-reads|lock-skip] [--out dir] [--snapshot_entries N]
       [--network auto|netns|proxy] [--membership manual|gossip] [--hold_ms MIN,MAX] [--quiet_ms N] [--tls]
       [--workloads ${EXTRA_WORKLOADS.join(',')}]`;

/** Flags that take no value. */
const BOOL_FLAGS = new Set(['help', 'tls']);

function parseArgs(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else if (BOOL_FLAGS.has(a.slice(2))) m.set(a.slice(2), 'true');
    else m.set(a.slice(2), argv[++i] ?? '');
  }
  return m;
}

function int(args: Map<string, string>, name: string, dflt: number): number {
  const v = args.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

function faultsOf(spec: string): FaultKind[] {
  if (spec === 'all') return [...FAULT_KINDS];
  if (spec === 'none' || spec === '') return [];
  return spec.split(',').map((k) => {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault ${k}; want ${FAULT_KINDS.join(',')}`);
    return k as FaultKind;
  });
}

async function main(): Promise<number> {
  let args: Map<string, string>;
  let timeS: number, nodes: number, clients: number, keys: number, seed: number, runs: number, snapshotEntries: number;
  let faults: FaultKind[];
  let broken: 'stale-reads' | 'lock-skip' | undefined;
  let workloads: ExtraWorkload[];
  let network: 'auto' | 'netns' | 'proxy';
  let membership: 'manual' | 'gossip';
  let hold: { holdMsMin?: number; holdMsMax?: number; quietMs?: number } = {};
  try {
    args = parseArgs(process.argv.slice(2));
    const known = new Set(['help', 'time', 'nodes', 'clients', 'keys', 'seed', 'runs', 'snapshot_entries', 'faults', 'broken', 'out', 'network', 'membership', 'hold_ms', 'quiet_ms', 'tls', 'workloads']);
    for (const name of args.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}`);
    if (args.has('help')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    timeS = int(args, 'time', 60);
    nodes = int(args, 'nodes', 3);
    clients = int(args, 'clients', 5);
    keys = int(args, 'keys', 4);
    seed = int(args, 'seed', Date.now() % 1_000_000);
    runs = Math.max(1, int(args, 'runs', 1));
    snapshotEntries = int(args, 'snapshot_entries', 64);
    faults = faultsOf(args.get('faults') ?? 'all');
    const b = args.get('broken');
    if (b !== undefined && b !== 'stale-reads' && b !== 'lock-skip') throw new Error(`--broken wants stale-reads or lock-skip, got ${b}`);
    broken = b;
    workloads = (args.get('workloads') ?? '').split(',').filter((w) => w !== '').map((w) => {
      if (!(EXTRA_WORKLOADS as readonly string[]).includes(w)) throw new Error(`unknown workload ${w}; want ${EXTRA_WORKLOADS.join(',')}`);
      return w as ExtraWorkload;
    });
    const n = args.get('network') ?? 'auto';
    if (n !== 'auto' && n !== 'netns' && n !== 'proxy') throw new Error(`--network wants auto, netns or proxy, got ${n}`);
    network = n;
    const m = args.get('membership') ?? 'manual';
    if (m !== 'manual' && m !== 'gossip') throw new Error(`--membership wants manual or gossip, got ${m}`);
    membership = m;
    const h = args.get('hold_ms');
    if (h !== undefined) {
      const [min, max] = h.split(',').map(Number);
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min! < 0 || max! < min!) throw new Error(`--hold_ms wants MIN,MAX in ms, got ${h}`);
      hold = { holdMsMin: min!, holdMsMax: max! };
    }
    if (args.has('quiet_ms')) hold = { ...hold, quietMs: int(args, 'quiet_ms', 1000) };
    if (nodes !== 3 && nodes !== 5) throw new Error('--nodes must be 3 or 5');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const started = performance.now();
  const summaries: RunSummary[] = [];
  for (let i = 0; i < runs; i++) {
    const s = seed + i;
    const out = args.get('out');
    process.stderr.write(`run ${i + 1}/${runs}: seed ${s}, ${timeS} s, faults ${faults.join(',') || 'none'}, ${nodes} nodes, ${clients} clients${broken ? `, BROKEN ${broken}` : ''}\n`);
    const summary = await runFaults({
      timeMs: timeS * 1000, faults, nodes, clients, keys, seed: s, snapshotEntries, network, membership, ...hold,
      tls: args.has('tls') && args.get('tls') !== 'false', workloads,
      ...(broken ? { broken } : {}),
      ...(out ? { outDir: join(out, `seed-${s}`) } : {}),
      log: (line) => process.stderr.write(`  ${line}\n`),
    });
    summaries.push(summary);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    const ops = summary.operations;
    process.stderr.write(
      `  => verdict ${summary.verdict}, recovered ${summary.recovered}; ops ${ops.total} (ok ${ops.ok}, fail ${ops.fail}, unknown ${ops.unknown}); ` +
        `faults ${JSON.stringify(summary.faults)}; check ${summary.checkMs} ms; run ${(summary.durationMs / 1000).toFixed(1)} s\n  => ${summary.outDir}\n`,
    );
    for (const v of summary.violations) process.stderr.write(`  VIOLATION on ${v.key}: ${v.jsonPath}\n    timeline: ${v.htmlPath}\n`);
    for (const c of summary.crashes) process.stderr.write(`  CRASH: ${c.split('\n')[0]}\n`);
    if (summary.lock) process.stderr.write(`  lock: ${summary.lock.acquisitions} acquisitions, ${summary.lock.fencedWrites} fenced writes, ${summary.lock.fencedRefusals} refused, ${summary.lock.lockFailures} lock calls failed\n`);
    for (const v of summary.lock?.violations ?? []) process.stderr.write(`  LOCK VIOLATION: ${v}\n`);
    if (summary.lease) process.stderr.write(`  lease: ${summary.lease.leases} leases, ${summary.lease.keepAlives} keep-alives, ${summary.lease.reads} reads, ${summary.lease.revoked} revoked; all expired ${summary.lease.expiredAfterHealMs ?? 'never'} ms after the heal\n`);
    for (const v of summary.lease?.violations ?? []) process.stderr.write(`  LEASE VIOLATION: ${v}\n`);
    const mem = summary.membership;
    if (mem) {
      process.stderr.write(`  membership: min voters ${mem.minVoters}, removals ${mem.removals.length}, voters back ${mem.votersBackMs ?? 'never'} ms after the heal\n`);
      for (const v of mem.violations) process.stderr.write(`  MEMBERSHIP VIOLATION: ${v}\n`);
    }
  }
  const caught = (s: RunSummary): boolean => (broken === 'lock-skip' ? (s.lock?.violations.length ?? 0) > 0 : s.verdict === 'violation');
  const good = summaries.filter((s) => (broken ? caught(s) : runWasClean(s))).length;
  const total = summaries.reduce((a, s) => ({ ok: a.ok + s.operations.ok, fail: a.fail + s.operations.fail, unknown: a.unknown + s.operations.unknown }), { ok: 0, fail: 0, unknown: 0 });
  process.stderr.write(`${good}/${runs} runs as expected; ops ok ${total.ok}, fail ${total.fail}, unknown ${total.unknown}; ${((performance.now() - started) / 1000).toFixed(0)} s in all\n`);
  return good === runs ? 0 : 1;
}

// Ctrl-C: exit at once; the 'exit' hook in test/faults/cluster.ts kills every node process.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fault run crashed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
