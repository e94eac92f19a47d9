import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/kv/index.js';
import type { Command, CommandResult, KvStore, LeaseChange, PutOp } from '../../src/kv/index.js';
import { b, openStore, rangeOp, s, tempDir, txnCmd } from './helpers.js';

const grant = (id: number, ttlSeconds: number): Command => ({ op: { kind: 'leaseGrant', leaseGrant: { id, ttlSeconds } }, requestId: null });
const revoke = (id: number): Command => ({ op: { kind: 'leaseRevoke', leaseRevoke: { id } }, requestId: null });
const put = (key: string, value: string, extra: Partial<PutOp> = {}): Command => ({ op: { kind: 'put', put: { key: b(key), value: b(value), prevKv: false, ...extra } }, requestId: null });

describe('leases in the state machine', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function fresh(): Promise<{ st: KvStore; dir: string; apply: (c: Command) => Promise<CommandResult> }> {
    const t = await tempDir();
    const st = await openStore(t.dir);
    cleanups.push(t.cleanup, () => st.close());
    let index = 0;
    return { st, dir: t.dir, apply: (c) => st.apply(++index, encodeCommand(c)) };
  }

  it('grants without a revision, attaches keys, and revokes them all in one revision with delete events', async () => {
    const { st, apply } = await fresh();
    const changes: LeaseChange[] = [];
    st.onLeaseChange((c) => changes.push(c));
    expect(await apply(grant(7, 30))).toEqual({ kind: 'leaseGrant', revision: 0, id: 7, ttlSeconds: 30 });
    expect(await apply(grant(7, 30))).toMatchObject({ kind: 'rejected', reason: 2 });
    await apply(put('a', '1', { lease: 7 }));
    await apply(put('b', '2', { lease: 7 }));
    await apply(put('c', '3'));
    expect((await st.get(b('a'))).kv?.lease).toBe(7);
    expect((await st.leaseKeys(7)).map(s).sort()).toEqual(['a', 'b']);
    const watcher = st.watch({ range: { start: b('a'), end: b('z') }, startRevision: 4 });
    const res = await apply(revoke(7));
    expect(res).toEqual({ kind: 'leaseRevoke', revision: 4, deleted: 2 });
    const batch = (await watcher[Symbol.asyncIterator]().next()).value as Array<{ type: number; kv: { key: Uint8Array; modRevision: number } }>;
    expect(batch.map((e) => [e.type, s(e.kv.key), e.kv.modRevision])).toEqual([[1, 'a', 4], [1, 'b', 4]]);
    await watcher.return();
    expect((await st.range(rangeOp({ start: 'a', end: 'z' }))).kvs.map((kv) => s(kv.key))).toEqual(['c']);
    expect(st.lease(7)).toBeNull();
    expect(await st.leaseKeys(7)).toEqual([]);
    expect(changes).toEqual([{ kind: 'granted', lease: { id: 7, ttlSeconds: 30 } }, { kind: 'revoked', id: 7 }]);
    expect(await apply(revoke(7))).toMatchObject({ kind: 'rejected', reason: 1 });
  });

  it('refuses a put with an unknown lease, and ignore_value/ignore_lease on a missing key, with no effect', async () => {
    const { st, apply } = await fresh();
    expect(await apply(put('k', 'v', { lease: 5 }))).toEqual({ kind: 'rejected', revision: 0, reason: 1 });
    expect(await apply(put('k', '', { ignoreValue: true }))).toMatchObject({ kind: 'rejected', reason: 3 });
    expect(await apply(put('k', 'v', { ignoreLease: true }))).toMatchObject({ kind: 'rejected', reason: 3 });
    // A txn whose chosen branch puts with an unknown lease fails as a whole.
    const txn = txnCmd({ success: [{ kind: 'put', put: { key: b('x'), value: b('1'), prevKv: false } }, { kind: 'put', put: { key: b('y'), value: b('1'), prevKv: false, lease: 9 } }] });
    expect(await apply(txn)).toMatchObject({ kind: 'rejected', reason: 1 });
    expect(st.revision()).toBe(0);
    expect((await st.get(b('x'))).kv).toBeNull();
  });

  it('moves a key between leases, keeps value or lease with the ignore flags, detaches deleted keys', async () => {
    const { st, apply } = await fresh();
    await apply(grant(1, 10));
    await apply(grant(2, 10));
    await apply(put('k', 'v1', { lease: 1 }));
    await apply(put('k', '', { lease: 2, ignoreValue: true }));
    expect((await st.get(b('k'))).kv).toMatchObject({ value: b('v1'), lease: 2, version: 2 });
    expect(await st.leaseKeys(1)).toEqual([]);
    await apply(put('k', 'v3', { ignoreLease: true }));
    expect((await st.get(b('k'))).kv).toMatchObject({ value: b('v3'), lease: 2 });
    await apply(put('k', 'v4')); // a plain put detaches the key
    expect((await st.get(b('k'))).kv?.lease).toBeUndefined();
    expect(await st.leaseKeys(2)).toEqual([]);
    await apply(put('m', 'x', { lease: 2 }));
    await apply({ op: { kind: 'delete', delete: { key: b('m'), rangeEnd: new Uint8Array(0), prefix: new Uint8Array(0), prevKv: false } }, requestId: null });
    expect(await st.leaseKeys(2)).toEqual([]);
    const rev = st.revision();
    expect(await apply(revoke(2))).toEqual({ kind: 'leaseRevoke', revision: rev, deleted: 0 }); // no keys: no new revision
  });

  it('applies grant, put and revoke in one batch as if one by one', async () => {
    const { st } = await fresh();
    const results = await st.applyBatch([grant(3, 5), put('a', '1', { lease: 3 }), put('b', '1', { lease: 3 }), revoke(3)].map((c, i) => ({ index: i + 1, data: encodeCommand(c) })));
    expect(results.map((r) => r.kind)).toEqual(['leaseGrant', 'put', 'put', 'leaseRevoke']);
    expect(results[3]).toEqual({ kind: 'leaseRevoke', revision: 3, deleted: 2 });
    expect(st.leases()).toEqual([]);
    expect(st.stats().keys).toBe(0);
  });

  it('keeps leases and attachments across a reopen and through snapshot/restore', async () => {
    const { st, dir, apply } = await fresh();
    await apply(grant(11, 20));
    await apply(put('held', 'v', { lease: 11 }));
    const snap = await st.snapshot();
    const chunks: Buffer[] = [];
    for await (const c of snap.stream) chunks.push(c as Buffer);
    await st.close();
    const reopened = await openStore(dir);
    cleanups.push(() => reopened.close());
    expect(reopened.leases()).toEqual([{ id: 11, ttlSeconds: 20 }]);
    expect((await reopened.leaseKeys(11)).map(s)).toEqual(['held']);

    const other = await tempDir();
    const target = await openStore(other.dir);
    cleanups.push(other.cleanup, () => target.close());
    const changes: LeaseChange[] = [];
    target.onLeaseChange((c) => changes.push(c));
    await target.restore(Readable.from([Buffer.concat(chunks)]));
    expect(changes).toEqual([{ kind: 'reset', leases: [{ id: 11, ttlSeconds: 20 }] }]);
    const r = await target.apply(snap.index + 1, encodeCommand(revoke(11)));
    expect(r).toMatchObject({ kind: 'leaseRevoke', deleted: 1 });
    expect((await target.get(b('held'))).kv).toBeNull();
  });

  it('compares on a lease and over a key range (every key must hold; no key compares as missing)', async () => {
    const { st, apply } = await fresh();
    await apply(grant(4, 10));
    await apply(put('r/a', '1', { lease: 4 }));
    await apply(put('r/b', '1', { lease: 4 }));
    const cmp = (c: Record<string, unknown>): Command => txnCmd({ compare: [c as never], success: [{ kind: 'put', put: { key: b('ok'), value: b('1'), prevKv: false } }] });
    const succeeded = async (c: Record<string, unknown>): Promise<boolean> => ((await apply(cmp(c))) as { succeeded: boolean }).succeeded;
    expect(await succeeded({ key: b('r/a'), result: 0, target: { kind: 'lease', lease: 4 } })).toBe(true);
    expect(await succeeded({ key: b('r/a'), result: 0, target: { kind: 'lease', lease: 5 } })).toBe(false);
    expect(await succeeded({ key: b('nope'), result: 0, target: { kind: 'lease', lease: 0 } })).toBe(true);
    expect(await succeeded({ key: b('r/'), result: 0, target: { kind: 'lease', lease: 4 }, rangeEnd: b('r0') })).toBe(true);
    await apply(put('r/c', '2'));
    expect(await succeeded({ key: b('r/'), result: 0, target: { kind: 'lease', lease: 4 }, rangeEnd: b('r0') })).toBe(false);
    expect(await succeeded({ key: b('r/'), result: 1, target: { kind: 'value', value: b('3') }, rangeEnd: b('r0') })).toBe(true);
    // An empty range compares as one missing key: create == 0 holds, a value compare never does.
    expect(await succeeded({ key: b('x/'), result: 0, target: { kind: 'createRevision', createRevision: 0 }, rangeEnd: b('x0') })).toBe(true);
    expect(await succeeded({ key: b('x/'), result: 1, target: { kind: 'value', value: b('3') }, rangeEnd: b('x0') })).toBe(false);
    // Empty rangeEnd: every key from key on.
    expect(await succeeded({ key: b('r/b'), result: 3, target: { kind: 'version', version: 0 }, rangeEnd: new Uint8Array(0) })).toBe(true);
    expect(st.revision()).toBeGreaterThan(0);
  });

  it('runs nested txns: every compare sees the state before the txn; a refused put anywhere on the path refuses all', async () => {
    const { st, apply } = await fresh();
    await apply(put('n', '1'));
    const cmpVal = (key: string, v: string) => ({ key: b(key), result: 0 as const, target: { kind: 'value' as const, value: b(v) } });
    const nested = txnCmd({
      compare: [cmpVal('n', '1')],
      success: [
        { kind: 'put', put: { key: b('n'), value: b('2'), prevKv: false } },
        // Sees n = 1 (the state before the outer txn), not the 2 just written.
        { kind: 'txn', txn: { compare: [cmpVal('n', '1')], success: [{ kind: 'put', put: { key: b('seen-old'), value: b('y'), prevKv: false } }], failure: [{ kind: 'put', put: { key: b('seen-new'), value: b('y'), prevKv: false } }] } },
      ],
    });
    const r = await apply(nested);
    expect(r).toMatchObject({ kind: 'txn', revision: 2, succeeded: true, responses: [{ kind: 'put', revision: 2 }, { kind: 'txn', revision: 2, succeeded: true, responses: [{ kind: 'put', revision: 2 }] }] });
    expect((await st.get(b('seen-old'))).kv).not.toBeNull();
    expect((await st.get(b('seen-new'))).kv).toBeNull();

    const refused = txnCmd({ success: [{ kind: 'put', put: { key: b('a'), value: b('1'), prevKv: false } }, { kind: 'txn', txn: { compare: [], success: [{ kind: 'put', put: { key: b('z'), value: b('1'), prevKv: false, lease: 99 } }], failure: [] } }] });
    expect(await apply(refused)).toMatchObject({ kind: 'rejected', reason: 1 });
    expect((await st.get(b('a'))).kv).toBeNull();
    expect(st.revision()).toBe(2);
  });
});
