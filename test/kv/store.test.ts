import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompareResult, encodeCommand } from '../../src/kv/index.js';
import type { KvStore } from '../../src/kv/index.js';
import {
  applyAll,
  applyOne,
  b,
  cmpMod,
  cmpValue,
  cmpVersion,
  delCmd,
  dump,
  opPut,
  opRange,
  openStore,
  putCmd,
  rangeOp,
  s,
  tempDir,
  txnCmd,
} from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: KvStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir);
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

describe('KvStore put/get/delete', () => {
  it('tracks revisions, create/mod revisions and versions', async () => {
    const [r1, r2, r3] = await applyAll(store, [putCmd('a', '1'), putCmd('b', '1'), putCmd('a', '2', null, true)]);
    expect(r1).toEqual({ kind: 'put', revision: 1, prevKv: null });
    expect(r2?.revision).toBe(2);
    expect(r3).toMatchObject({ kind: 'put', revision: 3, prevKv: { value: b('1'), createRevision: 1, modRevision: 1, version: 1 } });
    const got = await store.get(b('a'));
    expect(got.revision).toBe(3);
    expect(got.kv).toEqual({ key: b('a'), value: b('2'), createRevision: 1, modRevision: 3, version: 2 });
    expect(store.appliedIndex()).toBe(3);
    expect(store.stats().keys).toBe(2);
  });

  it('deletes one key, a range and a prefix; deleting nothing keeps the revision', async () => {
    await applyAll(store, ['a', 'b', 'c', 'p/1', 'p/2', 'q'].map((k) => putCmd(k, 'v')));
    expect(await applyOne(store, delCmd({ key: 'zz' }))).toMatchObject({ kind: 'delete', deleted: 0, revision: 6 });
    expect(await applyOne(store, delCmd({ key: 'a', rangeEnd: 'c', prevKv: true }))).toMatchObject({
      kind: 'delete',
      deleted: 2,
      revision: 7,
      prevKvs: [{ key: b('a') }, { key: b('b') }],
    });
    expect(await applyOne(store, delCmd({ prefix: 'p/' }))).toMatchObject({ deleted: 2, revision: 8, prevKvs: [] });
    expect(await dump(store)).toEqual(['c=v@3/3/1', 'q=v@6/6/1']);
    expect(store.stats().keys).toBe(2);
    // A deleted key starts over: new create revision, version 1.
    await applyOne(store, putCmd('a', 'again'));
    expect((await store.get(b('a'))).kv).toMatchObject({ createRevision: 9, modRevision: 9, version: 1 });
  });

  it('deletes every key from a key on (etcd\'s range_end "\\0"), through the command codec', async () => {
    await applyAll(store, ['a', 'b', 'c', 'd\xff\xff'].map((k) => putCmd(k, 'v')));
    expect(await applyOne(store, delCmd({ key: 'b', fromKey: true, prevKv: true }))).toMatchObject({
      kind: 'delete', deleted: 3, revision: 5, prevKvs: [{ key: b('b') }, { key: b('c') }, { key: b('d\xff\xff') }],
    });
    expect(await dump(store)).toEqual(['a=v@1/1/1']);
  });
});

describe('KvStore range', () => {
  beforeEach(async () => {
    await applyAll(store, ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => putCmd(k, k.toUpperCase())));
    await applyAll(store, [putCmd('x/1', '1'), putCmd('x/2', '2'), putCmd('y', 'y')]);
  });

  it('reads [start, end), a prefix, and everything', async () => {
    const r = await store.range(rangeOp({ start: 'b', end: 'e' }));
    expect(r.kvs.map((kv) => s(kv.key))).toEqual(['b', 'c', 'd']);
    expect(r).toMatchObject({ count: 3, more: false, revision: 9 });
    expect((await store.range(rangeOp({ prefix: 'x/' }))).kvs.map((kv) => s(kv.value))).toEqual(['1', '2']);
    expect((await store.range(rangeOp({ start: 'x' }))).kvs.map((kv) => s(kv.key))).toEqual(['x/1', 'x/2', 'y']);
    expect((await store.range(rangeOp())).count).toBe(9);
  });

  it('pages with limit and start_after, counting the rest of the range', async () => {
    const p1 = await store.range(rangeOp({ start: 'a', end: 'x', limit: 4 }));
    expect(p1.kvs.map((kv) => s(kv.key))).toEqual(['a', 'b', 'c', 'd']);
    expect(p1).toMatchObject({ count: 6, more: true });
    const p2 = await store.range(rangeOp({ start: 'a', end: 'x', limit: 4, startAfter: s(p1.nextStartAfter) }));
    expect(p2.kvs.map((kv) => s(kv.key))).toEqual(['e', 'f']);
    expect(p2).toMatchObject({ count: 2, more: false, nextStartAfter: new Uint8Array(0) });
  });

  it('pages without counting the rest when the scan asks (pageOnly), also at a past revision', async () => {
    const p1 = await store.range({ ...rangeOp({ start: 'a', end: 'x', limit: 4 }), pageOnly: true });
    expect(p1.kvs.map((kv) => s(kv.key))).toEqual(['a', 'b', 'c', 'd']);
    expect(p1).toMatchObject({ count: 4, more: true });
    const p2 = await store.range({ ...rangeOp({ start: 'a', end: 'x', limit: 4, startAfter: s(p1.nextStartAfter) }), pageOnly: true });
    expect(p2.kvs.map((kv) => s(kv.key))).toEqual(['e', 'f']);
    expect(p2).toMatchObject({ count: 2, more: false });
    const old = await store.range({ ...rangeOp({ limit: 2 }), pageOnly: true }, 7);
    expect(old.kvs.map((kv) => s(kv.key))).toEqual(['a', 'b']);
    expect(old).toMatchObject({ count: 2, more: true, revision: 9 });
  });

  it('answers keys only and count only', async () => {
    const keys = await store.range(rangeOp({ prefix: 'x/', keysOnly: true }));
    expect(keys.kvs.map((kv) => [s(kv.key), kv.value.length, kv.version])).toEqual([['x/1', 0, 1], ['x/2', 0, 1]]);
    const count = await store.range(rangeOp({ countOnly: true }));
    expect(count).toMatchObject({ kvs: [], count: 9, more: false });
  });

  it('rejects bad bounds', async () => {
    await expect(store.range(rangeOp({ start: 'b', end: 'a' }))).rejects.toThrow(/end must sort after start/);
    await expect(store.range(rangeOp({ prefix: 'x', start: 'a' }))).rejects.toThrow(/either prefix or start/);
    await expect(store.get(new Uint8Array(0))).rejects.toThrow(/key is empty/);
  });
});

describe('KvStore txn', () => {
  it('compare-and-swap on value, version and mod revision', async () => {
    await applyOne(store, putCmd('k', 'v1'));
    const cas = (expect_: string, next: string) =>
      txnCmd({ compare: [cmpValue('k', CompareResult.Equal, expect_)], success: [opPut('k', next)], failure: [opRange({ prefix: 'k' })] });
    const ok = await applyOne(store, cas('v1', 'v2'));
    expect(ok).toMatchObject({ kind: 'txn', succeeded: true, revision: 2, responses: [{ kind: 'put', revision: 2 }] });
    const lost = await applyOne(store, cas('v1', 'v3'));
    expect(lost).toMatchObject({ kind: 'txn', succeeded: false, revision: 2 });
    if (lost.kind !== 'txn') throw new Error('txn');
    expect(lost.responses[0]).toMatchObject({ kind: 'range', kvs: [{ value: b('v2'), version: 2 }] });

    const byVersion = await applyOne(store, txnCmd({ compare: [cmpVersion('k', CompareResult.Equal, 2)], success: [opPut('k', 'v3')] }));
    expect(byVersion).toMatchObject({ succeeded: true, revision: 3 });
    const byMod = await applyOne(store, txnCmd({ compare: [cmpMod('k', CompareResult.Less, 3)], success: [opPut('k', 'v4')] }));
    expect(byMod).toMatchObject({ succeeded: false, revision: 3 });
    // Create-if-absent: a missing key has version 0 and never equals a value.
    const create = await applyOne(store, txnCmd({ compare: [cmpVersion('new', CompareResult.Equal, 0)], success: [opPut('new', 'x')] }));
    expect(create).toMatchObject({ succeeded: true, revision: 4 });
    const missingValue = await applyOne(store, txnCmd({ compare: [cmpValue('nope', CompareResult.NotEqual, 'x')] }));
    expect(missingValue).toMatchObject({ succeeded: false });
    const greater = await applyOne(store, txnCmd({ compare: [cmpValue('k', CompareResult.Greater, 'v2')] }));
    expect(greater).toMatchObject({ succeeded: true });
  });

  it('runs a branch at one revision, later ops seeing earlier ones', async () => {
    await applyAll(store, [putCmd('p/a', '1'), putCmd('p/b', '1')]);
    const res = await applyOne(
      store,
      txnCmd({
        success: [
          opPut('p/c', '3'),
          { kind: 'delete', delete: { key: b('p/a'), rangeEnd: new Uint8Array(0), prefix: new Uint8Array(0), prevKv: false } },
          opRange({ prefix: 'p/' }),
        ],
      }),
    );
    expect(res.kind === 'txn' && res.succeeded).toBe(true);
    if (res.kind !== 'txn') throw new Error('txn');
    expect(res.revision).toBe(3);
    const range = res.responses[2];
    expect(range?.kind === 'range' && range.kvs.map((kv) => `${s(kv.key)}@${kv.modRevision}`)).toEqual(['p/b@2', 'p/c@3']);
    expect(await dump(store)).toEqual(['p/b=1@2/2/1', 'p/c=3@3/3/1']);
  });

  it('a read-only txn does not advance the revision', async () => {
    await applyOne(store, putCmd('a', '1'));
    const res = await applyOne(store, txnCmd({ success: [opRange({ prefix: 'a' })] }));
    expect(res).toMatchObject({ kind: 'txn', revision: 1 });
    expect(store.revision()).toBe(1);
    expect(store.appliedIndex()).toBe(2);
  });
});

describe('KvStore apply discipline', () => {
  it('rejects invalid or undecodable entries the same way, advancing the applied index', async () => {
    const bad = await applyOne(store, putCmd('', 'v'));
    expect(bad).toMatchObject({ kind: 'invalid', revision: 0 });
    expect(bad.kind === 'invalid' && bad.message).toMatch(/put.key is empty/);
    expect(await store.apply(2, Uint8Array.of(0xff, 0xff, 0xff))).toMatchObject({ kind: 'invalid' });
    expect(await store.apply(3, new Uint8Array(0))).toMatchObject({ kind: 'invalid', message: 'empty command' });
    expect(store.appliedIndex()).toBe(3);
    expect(store.revision()).toBe(0);
  });

  it('refuses to apply an index twice or backwards; noops and gaps advance it', async () => {
    await store.applyNoop(5);
    expect(store.appliedIndex()).toBe(5);
    await expect(store.apply(5, encodeCommand(putCmd('a', 'b')))).rejects.toThrow(/not after applied index 5/);
    await store.apply(7, encodeCommand(putCmd('a', 'b')));
    expect(store.appliedIndex()).toBe(7);
  });

  it('keeps applied index, revision and data across reopen', async () => {
    await applyAll(store, [putCmd('a', '1'), putCmd('b', '2'), delCmd({ key: 'a' })]);
    await store.close();
    store = await openStore(dir);
    expect(store.stats()).toMatchObject({ appliedIndex: 3, revision: 3, keys: 1 });
    expect(await dump(store)).toEqual(['b=2@2/2/1']);
  });
});

describe('KvStore request ids', () => {
  const id = (seq: number, clientId = 'c1') => ({ clientId, seq });

  it('applies a retried write once and returns the first result', async () => {
    const first = await applyOne(store, putCmd('a', '1', id(1)));
    await applyOne(store, putCmd('a', 'other'));
    const retry = await applyOne(store, putCmd('a', '1', id(1)));
    expect(retry).toEqual(first);
    expect((await store.get(b('a'))).kv).toMatchObject({ value: b('other'), version: 2 });
    const stale = await applyOne(store, putCmd('a', '0', id(0 + 1, 'c1')));
    expect(stale).toEqual(first);
    await applyOne(store, putCmd('a', '2', id(2)));
    expect(await applyOne(store, putCmd('a', 'x', id(1)))).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/older than its last applied seq 2/) });
  });

  it('remembers txn results, including reads, and survives reopen', async () => {
    await applyOne(store, putCmd('k', 'v'));
    const txn = txnCmd({ compare: [cmpValue('k', CompareResult.Equal, 'v')], success: [opPut('k', 'w'), opRange({ prefix: 'k' })] }, id(7));
    const first = await applyOne(store, txn);
    await store.close();
    store = await openStore(dir);
    const retry = await applyOne(store, txn);
    expect(retry).toEqual(first);
    expect(store.revision()).toBe(2);
  });

  it('forgets the least recently written client beyond clientsMax', async () => {
    await store.close();
    store = await openStore(dir, { clientsMax: 2 });
    await applyAll(store, [putCmd('a', '1', id(1, 'A')), putCmd('b', '1', id(1, 'B')), putCmd('a', '2', id(2, 'A')), putCmd('c', '1', id(1, 'C'))]);
    expect(store.stats().dedupeClients).toBe(2);
    // B was the oldest: A and C are still remembered, B's retry applies again.
    await applyAll(store, [putCmd('a', '2', id(2, 'A')), putCmd('c', '1', id(1, 'C'))]);
    expect(store.revision()).toBe(4);
    await store.close();
    store = await openStore(dir, { clientsMax: 2 });
    expect(store.stats().dedupeClients).toBe(2);
    await applyOne(store, putCmd('c', '1', id(1, 'C')));
    expect(store.revision()).toBe(4);
    await applyOne(store, putCmd('b', '1', id(1, 'B')));
    expect(store.revision()).toBe(5);
    expect((await store.get(b('b'))).kv?.version).toBe(2);
  });
});
