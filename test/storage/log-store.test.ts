import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/common/assert.js';
import { AbortedError, StoppedError } from '../../src/common/errors.js';
import { StorageFailedError, StoreLockedError } from '../../src/storage/errors.js';
import { entryKey } from '../../src/storage/log-codec.js';
import { DiskStorage } from '../../src/storage/log-store.js';
import { ent, ents, summary, useTempDirs } from './helpers.js';

const conf3 = { voters: [1, 2, 3], learners: [4] };

describe('DiskStorage', () => {
  const tempDir = useTempDirs();

  async function openFresh(): Promise<{ dir: string; s: DiskStorage }> {
    const dir = join(await tempDir(), 'raft');
    return { dir, s: await DiskStorage.open(dir) };
  }

  it('starts empty with etcd index conventions', async () => {
    const { s } = await openFresh();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.entries(1, 1, Infinity)).toEqual([]);
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, confState: { voters: [], learners: [] } });
    expect(s.snapshot().meta).toEqual({ index: 0, term: 0, conf: { voters: [], learners: [] } });
    expect(() => s.term(1)).toThrow(expect.objectContaining({ name: 'UnavailableError' }));
    expect(s.liveLogBytes()).toBe(0);
    await s.close();
  });

  it('round-trips entries, hard state and conf state across close and reopen', async () => {
    const { dir, s } = await openFresh();
    await s.persist({ entries: ents(1, 3, 1), hardState: { term: 1, vote: 2, commit: 1 } });
    await s.persist({ entries: [ent(4, 2, new Uint8Array([0, 255, 7])), { ...ent(5, 2), type: 1 }], hardState: null }, { sync: false });
    await s.setConfState(conf3);
    const before = summary(s.entries(1, 6, Infinity));
    expect(before).toEqual(['1/1/0/v1', '2/1/0/v2', '3/1/0/v3', '4/2/0/\u0000\ufffd\u0007', '5/2/1/v5']);
    expect(s.liveLogBytes()).toBe(2 + 2 + 2 + 3 + 2 + 5 * 24);
    await s.close();

    const r = await DiskStorage.open(dir);
    expect(summary(r.entries(1, 6, Infinity))).toEqual(before);
    expect(r.entries(4, 5, 0)[0]!.data).toEqual(new Uint8Array([0, 255, 7]));
    // The core starts from the snapshot's configuration (none yet); the applied one is kept apart.
    expect(r.initialState()).toEqual({ hardState: { term: 1, vote: 2, commit: 1 }, confState: { voters: [], learners: [] } });
    expect(r.appliedConfState()).toEqual(conf3);
    expect([r.firstIndex(), r.lastIndex(), r.term(5)]).toEqual([1, 5, 2]);
    expect(r.liveLogBytes()).toBe(2 + 2 + 2 + 3 + 2 + 5 * 24);
    await r.close();
  });

  it('limits entries() by maxBytes but always returns at least one', async () => {
    const { s } = await openFresh();
    await s.persist({ entries: ents(1, 5, 1) }); // each entry counts 2 + 24 bytes
    expect(s.entries(1, 6, 0).length).toBe(1);
    expect(s.entries(1, 6, 52).length).toBe(2);
    expect(s.entries(1, 6, 53).length).toBe(2);
    expect(s.entries(2, 6, Infinity).map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(() => s.entries(1, 7, Infinity)).toThrow(expect.objectContaining({ name: 'UnavailableError' }));
    await s.close();
  });

  it('truncates on conflict and deletes the stale suffix on disk', async () => {
    const { dir, s } = await openFresh();
    await s.persist({ entries: ents(1, 5, 1) });
    await s.persist({ entries: [ent(3, 2, 'x3'), ent(4, 2, 'x4')] });
    expect(summary(s.entries(1, 5, Infinity))).toEqual(['1/1/0/v1', '2/1/0/v2', '3/2/0/x3', '4/2/0/x4']);
    expect(s.lastIndex()).toBe(4);
    // An older duplicate that matches is a rewrite, and appending after the end works.
    await s.persist({ entries: [ent(5, 2)] });
    await s.persist({ entries: [ent(5, 3, 'y5')] });
    await s.close();

    const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const keys = await raw.keys({ gte: entryKey(0), lt: entryKey(100) }).all();
    expect(keys.map((k) => k.readUInt32BE(5))).toEqual([1, 2, 3, 4, 5]);
    await raw.close();

    const r = await DiskStorage.open(dir);
    expect(summary(r.entries(1, 6, Infinity))).toEqual(['1/1/0/v1', '2/1/0/v2', '3/2/0/x3', '4/2/0/x4', '5/3/0/y5']);
    await r.close();
  });

  it('refuses an append that would leave a gap, without writing anything', async () => {
    const { s } = await openFresh();
    await s.persist({ entries: ents(1, 2, 1) });
    await expect(s.persist({ entries: [ent(4, 1)], hardState: { term: 1, vote: 0, commit: 2 } })).rejects.toThrow(AssertionError);
    expect(s.lastIndex()).toBe(2);
    expect(s.initialState().hardState.commit).toBe(0);
    await s.close();
  });

  it('compacts up to the latest snapshot and survives a restart', async () => {
    const { dir, s } = await openFresh();
    await s.persist({ entries: [...ents(1, 3, 1), ...ents(4, 6, 2)] });
    await expect(s.compact(3)).rejects.toThrow(/past the latest snapshot/);
    await s.recordSnapshot({ index: 4, term: 2, conf: conf3 });
    await s.compact(4);
    expect([s.firstIndex(), s.lastIndex(), s.term(4)]).toEqual([5, 6, 2]);
    expect(() => s.term(3)).toThrow(expect.objectContaining({ name: 'CompactedError' }));
    expect(() => s.entries(4, 6, Infinity)).toThrow(expect.objectContaining({ name: 'CompactedError' }));
    expect(s.liveLogBytes()).toBe(2 * 26);
    await s.compact(2); // already compacted: no-op
    await s.close();

    const r = await DiskStorage.open(dir);
    expect([r.firstIndex(), r.lastIndex(), r.term(4)]).toEqual([5, 6, 2]);
    expect(summary(r.entries(5, 7, Infinity))).toEqual(['5/2/0/v5', '6/2/0/v6']);
    expect(r.snapshot().meta).toEqual({ index: 4, term: 2, conf: conf3 });
    // Entries at or below the compaction point are skipped on append.
    await r.persist({ entries: ents(3, 7, 2) });
    expect(r.lastIndex()).toBe(7);
    await r.close();
  });

  it('installs a received snapshot: drops the whole log, appends after it in the same batch', async () => {
    const { dir, s } = await openFresh();
    await s.persist({ entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } });
    await s.persist({
      snapshotMeta: { index: 10, term: 3, conf: conf3 },
      entries: [ent(11, 3)],
      hardState: { term: 3, vote: 0, commit: 10 },
    });
    expect([s.firstIndex(), s.lastIndex(), s.term(10), s.term(11)]).toEqual([11, 11, 3, 3]);
    expect(s.initialState().confState).toEqual(conf3);
    // An older snapshot is ignored.
    await s.applySnapshotMeta({ index: 8, term: 2, conf: { voters: [9], learners: [] } });
    expect(s.snapshot().meta.index).toBe(10);
    await s.close();

    const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const keys = await raw.keys({ gte: entryKey(0), lt: entryKey(100) }).all();
    expect(keys.map((k) => k.readUInt32BE(5))).toEqual([11]);
    await raw.close();

    const r = await DiskStorage.open(dir);
    expect([r.firstIndex(), r.lastIndex(), r.term(10)]).toEqual([11, 11, 3]);
    expect(r.snapshot().meta).toEqual({ index: 10, term: 3, conf: conf3 });
    expect(r.initialState()).toEqual({ hardState: { term: 3, vote: 0, commit: 10 }, confState: conf3 });
    await r.applySnapshotMeta({ index: 20, term: 4, conf: conf3 });
    expect([r.firstIndex(), r.lastIndex(), r.term(20)]).toEqual([21, 20, 4]);
    expect(r.liveLogBytes()).toBe(0);
    await r.close();
  });

  it('serializes writes in call order and rejects writes after close', async () => {
    const { dir, s } = await openFresh();
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) writes.push(s.persist({ entries: [ent(i, 1)], hardState: { term: 1, vote: 0, commit: i } }));
    await Promise.all(writes);
    expect(s.lastIndex()).toBe(20);
    await s.close();
    await expect(s.persist({ entries: [ent(21, 1)] })).rejects.toThrow(StoppedError);
    const r = await DiskStorage.open(dir);
    expect([r.lastIndex(), r.initialState().hardState.commit]).toEqual([20, 20]);
    await r.close();
  });

  it('refuses a second open of the same directory with StoreLockedError', async () => {
    const { dir, s } = await openFresh();
    await expect(DiskStorage.open(dir)).rejects.toThrow(StoreLockedError);
    await s.close();
    await (await DiskStorage.open(dir)).close();
  });

  it('a failed write poisons the store: nothing changes in memory and later writes are refused', async () => {
    const { s } = await openFresh();
    await s.persist({ entries: ents(1, 2, 1) });
    // Make LevelDB itself fail the next batch by closing the handle underneath the store.
    await (s as unknown as { db: { close(): Promise<void> } }).db.close();
    await expect(s.persist({ entries: [ent(3, 1)] })).rejects.toThrow(StorageFailedError);
    expect(s.lastIndex()).toBe(2);
    await expect(s.setConfState(conf3)).rejects.toThrow(StorageFailedError);
    await s.close();
  });

  it('honours an aborted signal at open', async () => {
    const dir = join(await tempDir(), 'raft');
    await expect(DiskStorage.open(dir, { signal: AbortSignal.abort() })).rejects.toThrow(AbortedError);
  });
});
