/**
 * Case "values" of `npm run bench:scale`: puts of large values (4 KiB and 64 KiB) from 16 clients
 * to the leader of a 3-member cluster: ops/s, p50/p99, and CPU per put summed over the members.
 */
import { randomBytes } from 'node:crypto';
import { cpuSeconds } from './clusters.js';
import { closedLoop, keyOf, progress, REQUEST_TIMEOUT_MS, round, type LoadResult, type Running } from './scale-common.js';

export const VALUE_SIZES_BYTES = [4 * 1024, 64 * 1024] as const;
const CLIENTS = 16;
/** Distinct keys the puts spread over (each put makes a new version: history grows, as in etcd). */
const KEYS = 1000;

export interface ValuesResult extends LoadResult {
  valueBytes: number;
  clients: number;
  cpuMsPerOp: number;
}

export async function valuesCase(r: Running, durationS: number): Promise<ValuesResult[]> {
  const leader = r.apis[r.leader]!;
  const out: ValuesResult[] = [];
  for (const valueBytes of VALUE_SIZES_BYTES) {
    const value = randomBytes(valueBytes);
    const pids = r.c.members.map((m) => m.proc?.pid);
    const cpu = (): number => pids.reduce((s: number, p) => s + cpuSeconds(p), 0);
    const cpu0 = cpu();
    const res = await closedLoop(CLIENTS, durationS, () => leader.put(keyOf('v/', Math.floor(Math.random() * KEYS)), value, REQUEST_TIMEOUT_MS));
    const row = { valueBytes, clients: CLIENTS, ...res, cpuMsPerOp: res.ops === 0 ? 0 : round(((cpu() - cpu0) * 1000) / res.ops, 3) };
    progress(`${r.c.system} values ${valueBytes} B: ${row.opsPerSec} ops/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.cpuMsPerOp} CPU ms/op, ${row.errors} errors`);
    out.push(row);
  }
  return out;
}
