/**
 * The side-by-side table of `npm run bench:scale`: one row per figure, etcd's beside raftkv's, and
 * raftkv ÷ etcd (for the cores case also each system's 2-CPU ÷ 1-CPU speed-up).
 */
import type { CoresRow } from './scale-cores.js';
import type { MillionResult } from './scale-million.js';
import type { ValuesResult } from './scale-values.js';
import type { WatchersResult } from './scale-watchers.js';

/** One system's results; a case that failed holds its error instead. */
export interface SystemResults {
  values?: ValuesResult[] | { error: string };
  million?: MillionResult | { error: string };
  watchers?: WatchersResult | { error: string };
  cores?: CoresRow[] | { error: string };
}

type Cell = number | string | undefined;

const ok = <T extends object>(x: T | { error: string } | undefined): T | undefined => (x === undefined || 'error' in x ? undefined : x);
const sum = (xs: readonly number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) * 100) / 100;

function row(label: string, e: Cell, k: Cell, better: 'higher' | 'lower' | '' = ''): string {
  const ratio = typeof e === 'number' && typeof k === 'number' && e > 0 ? (k / e).toFixed(2) : '-';
  return `| ${label}${better === '' ? '' : ` (${better} is better)`} | ${e ?? '-'} | ${k ?? '-'} | ${ratio} |`;
}

function valuesRows(e: ValuesResult[] | undefined, k: ValuesResult[] | undefined): string[] {
  const sizes = [...new Set([...(e ?? []), ...(k ?? [])].map((r) => r.valueBytes))];
  return sizes.flatMap((size) => {
    const a = e?.find((r) => r.valueBytes === size);
    const b = k?.find((r) => r.valueBytes === size);
    const label = `put ${size / 1024} KiB, ${a?.clients ?? b?.clients} clients to the leader`;
    return [
      row(`${label}: ops/s`, a?.opsPerSec, b?.opsPerSec, 'higher'),
      row(`${label}: p50 ms`, a?.p50Ms, b?.p50Ms, 'lower'),
      row(`${label}: p99 ms`, a?.p99Ms, b?.p99Ms, 'lower'),
      row(`${label}: CPU ms per put (all members)`, a?.cpuMsPerOp, b?.cpuMsPerOp, 'lower'),
    ];
  });
}

function millionRows(e: MillionResult | undefined, k: MillionResult | undefined): string[] {
  const n = e?.keys ?? k?.keys ?? 0;
  const snap = (x: number | undefined): number | undefined => (x === undefined || x < 0 ? undefined : x);
  const mib = (b: number | undefined): number | undefined => (b === undefined ? undefined : Math.round((b / (1024 * 1024)) * 10) / 10);
  return [
    row(`${n} keys: load time s (Txns of 128 puts, 16 clients)`, e?.loadS, k?.loadS, 'lower'),
    row(`${n} keys: until every member applied them, ms after the load`, e?.replicatedMs, k?.replicatedMs, 'lower'),
    row(`${n} keys: RSS per member MiB, largest`, e ? Math.max(...e.rssMiB) : undefined, k ? Math.max(...k.rssMiB) : undefined, 'lower'),
    row(`${n} keys: RSS per member MiB, each`, e?.rssMiB.join(' / '), k?.rssMiB.join(' / ')),
    row(`${n} keys: Maintenance.Snapshot MiB`, mib(snap(e?.snapshotBytes)), mib(snap(k?.snapshotBytes)), 'lower'),
    row(`${n} keys: Maintenance.Snapshot ms`, snap(e?.snapshotMs), snap(k?.snapshotMs), 'lower'),
    row(`${n} keys: raft snapshot on request MiB / ms (raftkv only)`, undefined, k?.raftSnapshot ? `${mib(k.raftSnapshot.bytes)} / ${k.raftSnapshot.ms}` : undefined),
    row(`${n} keys: follower SIGKILL → restart → first serializable get ms`, e?.restartFirstAnswerMs, k?.restartFirstAnswerMs, 'lower'),
    row(`${n} keys: follower SIGKILL → restart → serializable count of all keys ms`, e?.restartServingMs, k?.restartServingMs, 'lower'),
    row(`${n} keys: restarted follower RSS MiB`, e?.restartedRssMiB, k?.restartedRssMiB, 'lower'),
    row(`${n} keys: new member (MemberAdd learner) start → caught up ms`, e?.catchUpMs, k?.catchUpMs, 'lower'),
    row(`${n} keys: new member RSS MiB`, e?.joinerRssMiB, k?.joinerRssMiB, 'lower'),
  ];
}

function watchersRows(e: WatchersResult | undefined, k: WatchersResult | undefined): string[] {
  const w = e ?? k;
  const label = w ? `${w.watchers} watchers, ${w.targetPutsPerSec} puts/s` : 'watchers';
  return [
    row(`${label}: puts/s achieved`, e?.putsPerSec, k?.putsPerSec, 'higher'),
    row(`${label}: events delivered / expected`, e ? `${e.deliveries} / ${e.deliveriesExpected}` : undefined, k ? `${k.deliveries} / ${k.deliveriesExpected}` : undefined),
    row(`${label}: delivery p50 ms`, e?.p50Ms, k?.p50Ms, 'lower'),
    row(`${label}: delivery p99 ms`, e?.p99Ms, k?.p99Ms, 'lower'),
    row(`${label}: member CPU s, all members`, e ? sum(e.memberCpuS) : undefined, k ? sum(k.memberCpuS) : undefined, 'lower'),
    row(`${label}: member CPU s, each`, e?.memberCpuS.join(' / '), k?.memberCpuS.join(' / ')),
    row(`${label}: client CPU s / wall s (client-bound when near 1)`, e ? `${e.clientCpuS} / ${e.wallS}` : undefined, k ? `${k.clientCpuS} / ${k.wallS}` : undefined),
  ];
}

function coresRows(e: CoresRow[] | undefined, k: CoresRow[] | undefined): string[] {
  const find = (rows: CoresRow[] | undefined, cpus: string, op: string): CoresRow | undefined => rows?.find((r) => r.cpus === cpus && r.op === op);
  return (['put', 'get-serializable'] as const).flatMap((op) => {
    const lines: string[] = [];
    for (const cpus of ['0', '0,1']) {
      const a = find(e, cpus, op);
      const b = find(k, cpus, op);
      const label = `1 member on CPU ${cpus}, ${op}, 64 clients`;
      lines.push(row(`${label}: ops/s`, a?.opsPerSec, b?.opsPerSec, 'higher'));
      lines.push(row(`${label}: member cores busy (CPU s per wall s)`, a?.coresUsed, b?.coresUsed));
      lines.push(row(`${label}: client cores busy (client-bound when near 1)`, a?.clientCoresUsed, b?.clientCoresUsed));
    }
    const speedUp = (rows: CoresRow[] | undefined): number | undefined => {
      const one = find(rows, '0', op)?.opsPerSec;
      const two = find(rows, '0,1', op)?.opsPerSec;
      return one && two ? Math.round((two / one) * 100) / 100 : undefined;
    };
    lines.push(row(`${op}: 2 CPUs ÷ 1 CPU ops/s`, speedUp(e), speedUp(k), 'higher'));
    return lines;
  });
}

/** Client CPU seconds per wall second from which the client, not the servers, is taken as the bound. */
const CLIENT_BOUND_CORES = 0.8;

/** Requests that failed within a case that completed, and steps of the million case that failed. */
function failureNotes(name: string, r: SystemResults | undefined): string[] {
  const notes: string[] = [];
  for (const v of ok(r?.values) ?? []) if (v.errors > 0) notes.push(`note: ${name} values ${v.valueBytes} B: ${v.errors} puts failed (first: ${v.firstError})`);
  for (const c of ok(r?.cores) ?? []) if (c.errors > 0) notes.push(`note: ${name} cores ${c.cpus} ${c.op}: ${c.errors} requests failed (first: ${c.firstError})`);
  const w = ok(r?.watchers);
  if (w && w.putErrors > 0) notes.push(`note: ${name} watchers: ${w.putErrors} puts failed`);
  for (const m of ok(r?.million)?.errors ?? []) notes.push(`note: ${name} million: ${m}`);
  return notes;
}

function clientBoundNotes(name: string, r: SystemResults | undefined): string[] {
  const notes: string[] = [];
  const w = ok(r?.watchers);
  if (w && w.wallS > 0 && w.clientCpuS / w.wallS >= CLIENT_BOUND_CORES) {
    notes.push(`note: ${name} watchers: the client used ${(w.clientCpuS / w.wallS).toFixed(2)} CPU s per s decoding events, so its delivery latencies are bounded by the client, not by ${name}`);
  }
  for (const c of ok(r?.cores) ?? []) {
    if (c.clientCoresUsed >= CLIENT_BOUND_CORES) notes.push(`note: ${name} cores ${c.cpus} ${c.op}: the client used ${c.clientCoresUsed} CPU s per s, so it may bound the ops/s`);
  }
  return notes;
}

export function scaleTable(e: SystemResults | undefined, k: SystemResults | undefined): string {
  const lines = ['| figure | etcd | raftkv | raftkv ÷ etcd |', '|---|---|---|---|'];
  if (e?.values ?? k?.values) lines.push(...valuesRows(ok(e?.values), ok(k?.values)));
  if (e?.million ?? k?.million) lines.push(...millionRows(ok(e?.million), ok(k?.million)));
  if (e?.watchers ?? k?.watchers) lines.push(...watchersRows(ok(e?.watchers), ok(k?.watchers)));
  if (e?.cores ?? k?.cores) lines.push(...coresRows(ok(e?.cores), ok(k?.cores)));
  const errors = (['values', 'million', 'watchers', 'cores'] as const).flatMap((c) => [['etcd', e], ['raftkv', k]].flatMap(([name, r]) => {
    const x = (r as SystemResults | undefined)?.[c];
    return x !== undefined && 'error' in x ? [`${name as string} ${c} failed: ${x.error}`] : [];
  }));
  const notes = [...clientBoundNotes('etcd', e), ...clientBoundNotes('raftkv', k), ...failureNotes('etcd', e), ...failureNotes('raftkv', k), ...errors];
  return [...lines, ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
