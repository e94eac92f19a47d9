/**
 * Case "cores" of `npm run bench:scale`: does one member use more than one core? A single-member
 * cluster pinned with taskset to one CPU, then (a fresh one) to two, each driven by 64 clients with
 * puts and then serializable gets; ops/s per pinning, and the member's CPU seconds per wall second
 * (above 1.0 only if it ran on more than one core at once). The benchmark client is not pinned: with
 * the member on CPU 0 it mostly runs on CPU 1; with the member on both it competes with it. Its
 * own CPU seconds per wall second are reported too: near 1.0 the client, not the member, is the
 * bound (a 2-core machine cannot give a 2-CPU member and its client separate cores).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, cpusAllowed, type Timers } from './clusters.js';
import { closedLoop, keyOf, progress, REQUEST_TIMEOUT_MS, round, startSystem, type LoadResult, type System } from './scale-common.js';

export const CPU_SETS = ['0', '0,1'] as const;
const CLIENTS = 64;
const VALUE_BYTES = 256;
const KEYS = 10_000;
const LOADERS = 64;

export interface CoresRow extends LoadResult {
  cpus: string;
  op: 'put' | 'get-serializable';
  /** The CPUs the member process may run on, as the kernel reports them (proves the pinning). */
  cpusAllowed: string;
  /** The member's CPU seconds per wall-clock second over the run. */
  coresUsed: number;
  /** This benchmark process's CPU seconds per wall-clock second over the run. */
  clientCoresUsed: number;
}

export async function coresCase(system: System, scratch: string, timers: Timers, durationS: number): Promise<CoresRow[]> {
  const out: CoresRow[] = [];
  const value = randomBytes(VALUE_BYTES);
  for (const cpus of CPU_SETS) {
    const r = await startSystem(system, join(scratch, `cores-${cpus.replace(',', '-')}`), timers, { size: 1, cpus });
    try {
      const api = r.apis[0]!;
      let next = 0;
      await Promise.all(Array.from({ length: LOADERS }, async () => {
        while (next < KEYS) await api.put(keyOf('c/', next++), value, REQUEST_TIMEOUT_MS);
      }));
      const pid = r.c.members[0]!.proc?.pid;
      for (const op of ['put', 'get-serializable'] as const) {
        const cpu0 = cpuSeconds(pid);
        const client0 = process.cpuUsage();
        const t0 = performance.now();
        const res = await closedLoop(CLIENTS, durationS, () => {
          const key = keyOf('c/', Math.floor(Math.random() * KEYS));
          return op === 'put' ? api.put(key, value, REQUEST_TIMEOUT_MS) : api.get(key, true, REQUEST_TIMEOUT_MS);
        });
        const wallS = (performance.now() - t0) / 1000;
        const client = process.cpuUsage(client0);
        const row: CoresRow = {
          cpus, op, ...res, cpusAllowed: cpusAllowed(pid), coresUsed: round((cpuSeconds(pid) - cpu0) / wallS, 2),
          clientCoresUsed: round((client.user + client.system) / 1e6 / wallS, 2),
        };
        progress(`${system} cores ${cpus} (allowed ${row.cpusAllowed}) ${op}: ${row.opsPerSec} ops/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, member ${row.coresUsed} / client ${row.clientCoresUsed} cores busy, ${row.errors} errors`);
        out.push(row);
      }
    } finally {
      await r.close();
    }
  }
  return out;
}
