import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvStore, encodeCommand } from '../../src/kv/index.js';
import type { Command, Compare, KvLimits, RangeOp, RequestId, RequestOp, TxnOp } from '../../src/kv/index.js';

export const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
export const s = (u: Uint8Array): string => Buffer.from(u).toString('utf8');
export const EMPTY = new Uint8Array(0);

/** A temp directory per test, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'raftkv-kv-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function openStore(dir: string, limits: Partial<KvLimits> = {}): Promise<KvStore> {
  return KvStore.open({ dir: join(dir, 'kv'), limits });
}

export function putCmd(key: string, value: string, requestId: RequestId | null = null, prevKv = false): Command {
  return { op: { kind: 'put', put: { key: b(key), value: b(value), prevKv } }, requestId };
}

export function delCmd(
  d: { key?: string; rangeEnd?: string; prefix?: string; prevKv?: boolean; fromKey?: boolean },
  requestId: RequestId | null = null,
): Command {
  return {
    op: {
      kind: 'delete',
      delete: { key: b(d.key ?? ''), rangeEnd: b(d.rangeEnd ?? ''), prefix: b(d.prefix ?? ''), prevKv: d.prevKv ?? false, ...(d.fromKey ? { fromKey: true } : {}) },
    },
    requestId,
  };
}

export function txnCmd(txn: Partial<TxnOp>, requestId: RequestId | null = null): Command {
  return { op: { kind: 'txn', txn: { compare: [], success: [], failure: [], ...txn } }, requestId };
}

export function rangeOp(r: Partial<Record<'prefix' | 'start' | 'end' | 'startAfter', string>> & Partial<Pick<RangeOp, 'limit' | 'keysOnly' | 'countOnly'>> = {}): RangeOp {
  return {
    prefix: b(r.prefix ?? ''),
    start: b(r.start ?? ''),
    end: b(r.end ?? ''),
    startAfter: b(r.startAfter ?? ''),
    limit: r.limit ?? 0,
    keysOnly: r.keysOnly ?? false,
    countOnly: r.countOnly ?? false,
  };
}

export const opPut = (key: string, value: string): RequestOp => ({ kind: 'put', put: { key: b(key), value: b(value), prevKv: false } });
export const opDelete = (d: Parameters<typeof delCmd>[0]): RequestOp => {
  const op = delCmd(d).op;
  if (op?.kind !== 'delete') throw new Error('unreachable');
  return { kind: 'delete', delete: op.delete };
};
export const opRange = (r: Parameters<typeof rangeOp>[0]): RequestOp => ({ kind: 'range', range: rangeOp(r) });
export const cmpValue = (key: string, result: Compare['result'], value: string): Compare => ({ key: b(key), result, target: { kind: 'value', value: b(value) } });
export const cmpVersion = (key: string, result: Compare['result'], version: number): Compare => ({ key: b(key), result, target: { kind: 'version', version } });
export const cmpMod = (key: string, result: Compare['result'], modRevision: number): Compare => ({ key: b(key), result, target: { kind: 'modRevision', modRevision } });

/** Applies commands at consecutive indexes after the store's applied index. */
export async function applyAll(store: KvStore, cmds: readonly Command[]) {
  const results = [];
  for (const cmd of cmds) results.push(await store.apply(store.appliedIndex() + 1, encodeCommand(cmd)));
  return results;
}

export async function applyOne(store: KvStore, cmd: Command) {
  return store.apply(store.appliedIndex() + 1, encodeCommand(cmd));
}

/** Every key-value as "key=value@create/mod/version", for comparing whole states. */
export async function dump(store: KvStore): Promise<string[]> {
  const out: string[] = [];
  let after = '';
  while (true) {
    const page = await store.range(rangeOp({ startAfter: after, limit: 100 }));
    for (const kv of page.kvs) out.push(`${s(kv.key)}=${s(kv.value)}@${kv.createRevision}/${kv.modRevision}/${kv.version}`);
    if (!page.more) return out;
    after = s(page.nextStartAfter);
  }
}
