/**
 * One fault run: start a cluster behind the proxies, run the clients and the nemesis for a while,
 * heal, prove the cluster recovered (every node answers a linearizable read of every key), check the
 * history per key for linearizability, and write the evidence under the output directory:
 * summary.json, history.json, timeline.html, and for a violation the minimal failing sub-history
 * (violation-<key>-*.json / .html).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SeededRandom } from '../../src/common/random.js';
import { checkHistory, renderTimelineHtml, writeViolation, type Operation } from './checker/index.js';
import { FaultCluster } from './cluster.js';
import { netnsUnavailableReason } from './netns.js';
import type { NetworkMode } from './network.js';
import { MembershipMonitor, type MembershipReport } from './membership-monitor.js';
import { Nemesis, type FaultKind } from './nemesis.js';
import { LeaseWorkload, type LeaseReport } from './lease-workload.js';
import { LockWorkload, type LockReport } from './lock-workload.js';
import { Workload } from './workload.js';

/** Workloads that may run beside the KV workload (which always runs): etcd's Lock and Lease. */
export const EXTRA_WORKLOADS = ['lock', 'lease'] as const;
export type ExtraWorkload = (typeof EXTRA_WORKLOADS)[number];
/** Clients of each extra workload, and their lease TTLs (s): short, so expiry happens within a run. */
const LOCK_CLIENTS = 3;
const LOCK_TTL_SECONDS = 3;
const LEASE_CLIENTS = 3;
const LEASE_TTL_SECONDS = 2;

const ROOT = join(import.meta.dirname, '../..');
/** Per-node deadline for the post-heal reads that show the cluster recovered. */
const RECOVERY_MS = 30_000;
/** Gossip membership: every node a voter again this long after the final heal (autopilot's stabilization is 10 s). */
const VOTERS_BACK_MS_DEFAULT = 30_000;

export interface RunOptions {
  readonly timeMs: number;
  readonly faults: readonly FaultKind[];
  readonly nodes: number;
  readonly clients: number;
  readonly keys: number;
  readonly seed: number;
  /** stale-reads: followers skip the ReadIndex fence; lock-skip: lock clients skip Lock. Each must be caught. */
  readonly broken?: 'stale-reads' | 'lock-skip';
  /** Lock and lease workloads beside the KV one (see lock-workload.ts, lease-workload.ts). */
  readonly workloads?: readonly ExtraWorkload[];
  /** netns (namespaces + nftables, root only), proxy (loopback proxies), or auto: netns when it can. Default auto. */
  readonly network?: NetworkMode | 'auto';
  readonly outDir?: string;
  /** gossip: nodes form the cluster through gossip and autopilot owns membership (see cluster.ts). */
  readonly membership?: 'manual' | 'gossip';
  /** Extra `raftkv serve` flags for every node. */
  readonly extraArgs?: readonly string[];
  /** Client TLS with client certificates and peer mTLS on every node (FaultCluster's tls). */
  readonly tls?: boolean;
  /** With gossip membership: how long after the final heal every node must be a voter again. */
  readonly votersBackMs?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEntries?: number;
  readonly opTimeoutMs?: number;
  readonly thinkMsMax?: number;
  readonly holdMsMin?: number;
  readonly holdMsMax?: number;
  readonly quietMs?: number;
  /** Budget of the linearizability search over all keys. */
  readonly checkTimeLimitMs?: number;
  /** Custom routing (the broken-mode test reads from the isolated follower). */
  readonly pickNode?: ConstructorParameters<typeof Workload>[0]['pickNode'];
  /** Custom nemesis: replaces the random schedule (gets the cluster, returns when done). */
  readonly scenario?: (cluster: FaultCluster, signal: AbortSignal, record: Nemesis['faults']) => Promise<void>;
  readonly log?: (line: string) => void;
}

export interface RunSummary {
  readonly runId: string;
  readonly seed: number;
  readonly verdict: 'ok' | 'violation' | 'unknown';
  readonly recovered: boolean;
  readonly recoveryError?: string;
  readonly durationMs: number;
  readonly checkMs: number;
  readonly operations: { total: number; ok: number; fail: number; unknown: number; byKind: Record<string, number> };
  readonly faults: Record<string, number>;
  readonly faultErrors: string[];
  /** Node processes that exited without being killed (with their stderr tail). */
  readonly crashes: string[];
  /** With gossip membership: what the configuration did (MembershipMonitor). */
  readonly membership: MembershipReport | null;
  /** With the lock workload: acquisitions, fenced writes and exclusion violations. */
  readonly lock: LockReport | null;
  /** With the lease workload: leases, keep-alives, reads and expiry violations. */
  readonly lease: LeaseReport | null;
  readonly network: ReturnType<FaultCluster['networkStats']>;
  readonly restarts: number;
  readonly keys: { key: string; verdict: string; operations: number; steps: number; elapsedMs: number }[];
  readonly violations: { key: string; jsonPath: string; htmlPath: string }[];
  readonly outDir: string;
  readonly options: Record<string, unknown>;
}

export async function runFaults(o: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-s${o.seed}`;
  const outDir = resolve(o.outDir ?? join(ROOT, '.data/faults', runId));
  const dataDir = await mkdtemp(join(tmpdir(), 'raftkv-faults-'));
  const random = new SeededRandom(o.seed);
  const tickMs = o.tickMs ?? 20;
  const electionTicks = o.electionTicks ?? 10;
  const log = o.log ?? (() => undefined);
  const keys = Array.from({ length: o.keys }, (_, i) => `k${i}`);
  const logDir = join(outDir, 'logs');
  await mkdir(logDir, { recursive: true });
  let keepLogs = true;
  let cluster: FaultCluster | null = null;
  let workload: Workload | null = null;
  let lockWork: LockWorkload | null = null;
  let leaseWork: LeaseWorkload | null = null;
  try {
    const network = await resolveNetwork(o.network ?? 'auto', log);
    const gossip = o.membership === 'gossip';
    cluster = await FaultCluster.start({ network, membership: o.membership ?? 'manual', extraArgs: o.extraArgs ?? [], tls: o.tls ?? false,
      size: o.nodes, dataDir, tickMs, electionTicks, snapshotEntries: o.snapshotEntries ?? 64, random, logDir, logLevel: 'info',
      ...(o.broken === 'stale-reads' ? { env: { RAFTKV_TEST_BROKEN: o.broken } } : {}),
    });
    log(`cluster of ${o.nodes} on the ${network} network up in ${(performance.now() - t0).toFixed(0)} ms; data ${dataDir}`);
    const grpcAddrs = new Map(cluster.ids.map((id) => [id, cluster!.grpcAddr(id)]));
    workload = new Workload({
      clients: o.clients, keys, grpcAddrs, credentials: cluster.clientCredentials(), opTimeoutMs: o.opTimeoutMs ?? 1_500, thinkMsMax: o.thinkMsMax ?? 20, random,
      ...(o.pickNode ? { pickNode: o.pickNode } : {}),
    });
    const extra = new Set(o.workloads ?? []);
    const etcdClients = { grpcAddrs, credentials: cluster.clientCredentials(), random, opTimeoutMs: o.opTimeoutMs ?? 1_500 };
    if (extra.has('lock') || o.broken === 'lock-skip') lockWork = new LockWorkload({ ...etcdClients, clients: LOCK_CLIENTS, ttlSeconds: LOCK_TTL_SECONDS, brokenSkipLock: o.broken === 'lock-skip' });
    if (extra.has('lease')) leaseWork = new LeaseWorkload({ ...etcdClients, clients: LEASE_CLIENTS, ttlSeconds: LEASE_TTL_SECONDS });
    // Under gossip membership autopilot owns the configuration: no hand-made membership changes.
    const faults = gossip ? o.faults.filter((k) => k !== 'membership') : o.faults;
    const monitor = gossip ? new MembershipMonitor(cluster, o.nodes) : null;
    const nemesis = new Nemesis(cluster, {
      faults, random, log,
      holdMsMin: o.holdMsMin ?? 1_000, holdMsMax: o.holdMsMax ?? 3_000, quietMs: o.quietMs ?? 1_000,
      electionTimeoutMs: tickMs * electionTicks * 2,
    });
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), o.timeMs);
    const clients = Promise.all([workload.run(stop.signal), lockWork?.run(stop.signal), leaseWork?.run(stop.signal)]);
    const watching = monitor?.run(stop.signal);
    try {
      if (o.scenario) await o.scenario(cluster, stop.signal, nemesis.faults);
      else await nemesis.run(stop.signal);
    } finally {
      stop.abort();
      clearTimeout(timer);
      await clients;
      await watching;
    }
    await cluster.healAll();
    await monitor?.awaitFullVoters(o.votersBackMs ?? VOTERS_BACK_MS_DEFAULT);
    let recoveryError: string | undefined;
    try {
      await finalReads(workload, cluster.ids, keys);
    } catch (e) {
      recoveryError = (e as Error).message;
      log(`recovery failed: ${recoveryError}\n${cluster.logs()}`);
    }
    const leaseExpiredMs = (await leaseWork?.awaitAllExpired()) ?? null;
    const history = workload.history;
    log(`${history.length} operations; checking`);
    const check = checkHistory(history, { timeLimitMs: o.checkTimeLimitMs ?? 60_000 });
    const faultCounts = o.scenario ? countKinds(nemesis.faults.map((f) => f.kind)) : Object.fromEntries(nemesis.counts);
    await mkdir(outDir, { recursive: true });
    const violations: RunSummary['violations'] = [];
    const context = { seed: o.seed, runId, broken: o.broken ?? null, faults: o.faults };
    for (const k of check.keys) {
      if (k.verdict !== 'violation') continue;
      const w = await writeViolation(outDir, k, { faults: nemesis.faults, context });
      violations.push({ key: k.key, ...w });
    }
    await writeFile(join(outDir, 'history.json'), `${JSON.stringify({ history, faults: nemesis.faults })}\n`);
    await writeFile(join(outDir, 'timeline.html'), renderTimelineHtml(history, nemesis.faults, { title: `raftkv fault run ${runId} (${check.verdict})` }));
    const summary: RunSummary = {
      runId, seed: o.seed, verdict: check.verdict, recovered: recoveryError === undefined, ...(recoveryError ? { recoveryError } : {}),
      durationMs: Math.round(performance.now() - t0), checkMs: Math.round(check.elapsedMs),
      operations: countOutcomes(history), faults: faultCounts, faultErrors: nemesis.errors, crashes: [...cluster.crashes],
      membership: monitor?.report() ?? null, lock: lockWork?.report() ?? null, lease: leaseWork?.report(leaseExpiredMs) ?? null, network: cluster.networkStats(),
      restarts: cluster.ids.reduce((s, id) => s + cluster!.node(id).restarts, 0),
      keys: check.keys.map((k) => ({ key: k.key, verdict: k.verdict, operations: k.operationCount, steps: k.steps, elapsedMs: Math.round(k.elapsedMs) })),
      violations, outDir,
      options: { network: cluster.net.mode, membership: o.membership ?? 'manual', tls: o.tls ?? false, workloads: [...extra], extraArgs: o.extraArgs ?? [], timeMs: o.timeMs, faults: o.faults, nodes: o.nodes, clients: o.clients, keys: o.keys, broken: o.broken ?? null, tickMs, electionTicks, snapshotEntries: o.snapshotEntries ?? 64 },
    };
    await writeFile(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    // Node logs are evidence only when something went wrong; a good run keeps just its report.
    keepLogs = !runWasClean(summary) || summary.faultErrors.length > 0;
    return summary;
  } finally {
    workload?.close();
    lockWork?.close();
    leaseWork?.close();
    await cluster?.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (!keepLogs) await rm(logDir, { recursive: true, force: true });
  }
}

/** Linearizable, recovered, no crash, no live member lost (gossip membership), locks exclusive and leases on time. */
export function runWasClean(s: RunSummary): boolean {
  return s.verdict === 'ok' && s.recovered && s.crashes.length === 0 && (s.membership?.violations.length ?? 0) === 0 &&
    (s.lock?.violations.length ?? 0) === 0 && (s.lease?.violations.length ?? 0) === 0;
}

/** auto: network namespaces where this process may make them (root, ip, nft), else the proxies. */
async function resolveNetwork(wanted: NetworkMode | 'auto', log: (line: string) => void): Promise<NetworkMode> {
  if (wanted === 'proxy') return 'proxy';
  const why = await netnsUnavailableReason();
  if (why === null) return 'netns';
  if (wanted === 'netns') throw new Error(`--network netns is not possible here: ${why}`);
  log(`network namespaces not possible (${why}); using the loopback proxies`);
  return 'proxy';
}

/** After healing, every node must answer a linearizable read of every key: the cluster recovered. */
async function finalReads(w: Workload, ids: readonly number[], keys: readonly string[]): Promise<void> {
  const deadline = performance.now() + RECOVERY_MS;
  for (const id of ids) {
    for (const key of keys) {
      for (;;) {
        const op = await w.perform('final', id, 'get', key, '', null);
        if (op.outcome === 'ok') break;
        if (performance.now() > deadline) throw new Error(`node ${id} could not read ${key} within ${RECOVERY_MS} ms of healing (${op.note ?? ''})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

function countOutcomes(history: readonly Operation[]): RunSummary['operations'] {
  const c = { total: history.length, ok: 0, fail: 0, unknown: 0, byKind: {} as Record<string, number> };
  for (const op of history) {
    c[op.outcome]++;
    const k = `${op.kind}:${op.outcome}`;
    c.byKind[k] = (c.byKind[k] ?? 0) + 1;
  }
  return c;
}

function countKinds(kinds: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of kinds) out[k] = (out[k] ?? 0) + 1;
  return out;
}
