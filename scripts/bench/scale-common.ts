/**
 * What the scale cases of `npm run bench:scale` share: starting either system the same way,
 * waiting for a leader that accepts writes, a closed-loop load of N clients, and keys.
 */
import { performance } from 'node:perf_hooks';
import { findEtcd, startEtcd, startRaftkv, type BenchCluster, type ShapeOptions, type Timers } from './clusters.js';
import { EtcdApi, leaderIndex } from './etcd-api.js';
import { Histogram } from './histogram.js';

export const SYSTEMS = ['etcd', 'raftkv'] as const;
export type System = (typeof SYSTEMS)[number];

export const REQUEST_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 200;

export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** `<prefix><index>`, the index zero-padded so keys sort in load order. */
export const keyOf = (prefix: string, i: number): Buffer => Buffer.from(`${prefix}${String(i).padStart(10, '0')}`);

/** A running cluster and one client per member; `close` ends both. */
export interface Running {
  readonly c: BenchCluster;
  readonly apis: EtcdApi[];
  leader: number;
  close(): Promise<void>;
}

/** Clusters started and not yet closed, so an interrupted run can end their members (killLive). */
const live = new Set<BenchCluster>();

/** SIGKILLs, by pid, every member of every cluster still running: for a run cut short by a signal. */
export function killLive(): void {
  for (const c of live) for (const m of c.members) m.proc?.kill('SIGKILL');
}

export async function startSystem(system: System, dataDir: string, timers: Timers, shape: ShapeOptions = {}): Promise<Running> {
  let c: BenchCluster;
  if (system === 'etcd') {
    const bin = findEtcd();
    if (bin === null) throw new Error('etcd is not installed: apt-get install etcd-server (Debian), or run with --systems raftkv');
    c = await startEtcd(bin, dataDir, timers, shape);
  } else {
    c = await startRaftkv({ dataDir, timers, ...shape });
  }
  live.add(c);
  const apis = c.members.map((m) => new EtcdApi(m.endpoint));
  const r: Running = {
    c, apis, leader: 0,
    close: async () => {
      for (const a of r.apis) a.close();
      await c.stop();
      live.delete(c);
    },
  };
  try {
    r.leader = await waitReady(apis, c);
  } catch (e) {
    await r.close();
    throw e;
  }
  return r;
}

/** Every member names one leader and a write through it succeeds; returns the leader's index. */
export async function waitReady(apis: readonly EtcdApi[], c: BenchCluster): Promise<number> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  let last: unknown = null;
  while (performance.now() < deadline) {
    try {
      const leader = await leaderIndex(apis, 1000);
      await apis[leader]!.put(Buffer.from('bench/ready'), Buffer.from('1'), 2000);
      return leader;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
  }
  throw new Error(`${c.system} not ready within ${READY_TIMEOUT_MS} ms: ${String((last as Error | null)?.message ?? last)}\n${c.members.map((m) => `${m.name}: ${m.stderr.slice(-1000)}`).join('\n')}`);
}

export interface LoadResult {
  ops: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError: string | null;
}

/** `clients` workers each calling `op` back to back for `durationS`; latency of each successful call. */
export async function closedLoop(clients: number, durationS: number, op: (worker: number) => Promise<unknown>): Promise<LoadResult> {
  const hist = new Histogram();
  let ops = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const endAt = started + durationS * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, worker) => {
    while (performance.now() < endAt) {
      const t0 = performance.now();
      try {
        await op(worker);
        hist.record(performance.now() - t0);
        ops++;
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  }));
  const h = hist.summary();
  return { ops, opsPerSec: Math.round(ops / ((performance.now() - started) / 1000)), p50Ms: h.p50, p99Ms: h.p99, errors, firstError };
}

/** Polls `check` every `intervalMs` until it returns true; the milliseconds that took. */
export async function timeUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  let last: unknown = null;
  while (performance.now() - t0 < timeoutMs) {
    try {
      if (await check()) return performance.now() - t0;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last !== null ? ` (last error: ${(last as Error).message})` : ''}`);
}
