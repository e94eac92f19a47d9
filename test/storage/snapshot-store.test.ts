import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AbortedError, CorruptionError } from '../../src/common/errors.js';
import type { SnapshotMeta } from '../../src/raft/types.js';
import { SnapshotExistsError, SnapshotNotFoundError } from '../../src/storage/errors.js';
import { FileSnapshotStore, type SnapshotIssue } from '../../src/storage/snapshot-store.js';
import { useTempDirs } from './helpers.js';

const conf = { voters: [1, 2, 3], learners: [] };
const meta = (index: number, term = 1): SnapshotMeta => ({ index, term, conf });

/** Compare buffers directly: deep equality of large buffers in the test runner is very slow. */
function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('FileSnapshotStore', () => {
  const tempDir = useTempDirs();

  async function openStore(dir?: string, retainCount?: number): Promise<{ dir: string; store: FileSnapshotStore; issues: SnapshotIssue[] }> {
    const d = dir ?? join(await tempDir(), 'snapshots');
    const issues: SnapshotIssue[] = [];
    const opts = retainCount === undefined ? { onIssue: (i: SnapshotIssue) => issues.push(i) } : { retainCount, onIssue: (i: SnapshotIssue) => issues.push(i) };
    return { dir: d, store: await FileSnapshotStore.open(d, opts), issues };
  }

  /** Commit a snapshot of `data`, written in 3 chunks. */
  async function put(store: FileSnapshotStore, m: SnapshotMeta, data: Buffer) {
    const sink = await store.create(m);
    const third = Math.ceil(data.length / 3);
    for (let at = 0; at < data.length; at += third) await sink.write(data.subarray(at, at + third));
    return sink.commit();
  }

  it('commits, lists, streams back and survives a reopen', async () => {
    const { dir, store } = await openStore();
    expect(store.latest()).toBeNull();
    const data = randomBytes(600 * 1024 + 17); // spans several read chunks
    const info = await put(store, meta(10, 2), data);
    expect(info).toMatchObject({ id: 'snap-000000000000000a-0000000000000002', meta: meta(10, 2), sizeBytes: data.length });
    expect(store.latest()).toEqual(info);
    expectSameBytes(await readAll(await store.open(info.id)), data);
    expect((await readdir(dir)).sort()).toEqual([`${info.id}.meta.json`, `${info.id}.snap`]);

    const { store: again, issues } = await openStore(dir);
    expect(again.latest()).toEqual(info);
    expectSameBytes(await readAll(await again.open(info.id)), data);
    expect(issues).toEqual([]);
  });

  it('stores an empty snapshot', async () => {
    const { dir, store } = await openStore();
    const sink = await store.create(meta(1));
    const info = await sink.commit();
    expect(info.sizeBytes).toBe(0);
    expect((await readAll(await store.open(info.id))).length).toBe(0);
    expect((await openStore(dir)).store.latest()).toEqual(info);
  });

  it('keeps the newest 2 by default and deletes older files', async () => {
    const { dir, store } = await openStore();
    for (const i of [5, 10, 15, 20]) await put(store, meta(i), Buffer.from(`state at ${i}`));
    expect(store.list().map((s) => s.meta.index)).toEqual([20, 15]);
    const files = (await readdir(dir)).sort();
    expect(files).toEqual([
      'snap-000000000000000f-0000000000000001.meta.json',
      'snap-000000000000000f-0000000000000001.snap',
      'snap-0000000000000014-0000000000000001.meta.json',
      'snap-0000000000000014-0000000000000001.snap',
    ]);
  });

  it('honours a configured retainCount', async () => {
    const { store } = await openStore(undefined, 3);
    for (const i of [1, 2, 3, 4, 5]) await put(store, meta(i), Buffer.from([i]));
    expect(store.list().map((s) => s.meta.index)).toEqual([5, 4, 3]);
  });

  it('never prunes the pinned snapshot (the one the raft log names), however many newer ones commit', async () => {
    const d = join(await tempDir(), 'snapshots');
    let pinned: string | null = null;
    const store = await FileSnapshotStore.open(d, { pinned: () => pinned });
    const first = await put(store, meta(5), Buffer.from('state at 5'));
    pinned = first.id;
    for (const i of [10, 15, 20]) await put(store, meta(i), Buffer.from(`state at ${i}`));
    expect(store.list().map((s) => s.meta.index)).toEqual([20, 15, 5]);
    expect((await readAll(await store.open(first.id))).toString()).toBe('state at 5');
    pinned = null;
    await put(store, meta(25), Buffer.from('state at 25'));
    expect(store.list().map((s) => s.meta.index)).toEqual([25, 20]);
  });

  it('removes crash leftovers on open: temp files and data without metadata', async () => {
    const { dir, store } = await openStore();
    const good = await put(store, meta(3), Buffer.from('good'));
    // A writer "crashes" mid-snapshot: its temp file stays behind.
    const sink = await store.create(meta(7));
    await sink.write(Buffer.from('partial'));
    // A commit "crashed" between the data rename and the sidecar.
    await writeFile(join(dir, 'snap-0000000000000009-0000000000000001.snap'), 'orphan');
    expect((await readdir(dir)).some((n) => n.endsWith('.tmp'))).toBe(true);

    const { store: reopened, issues } = await openStore(dir);
    const files = await readdir(dir);
    expect(files.some((n) => n.endsWith('.tmp'))).toBe(false);
    expect(files).not.toContain('snap-0000000000000009-0000000000000001.snap');
    expect(reopened.list()).toEqual([good]);
    expect(issues.map((i) => i.reason)).toEqual([
      expect.stringMatching(/leftover temp file/),
      expect.stringMatching(/data without metadata/),
    ]);
    expect(reopened.issues()).toEqual(issues);
    await sink.abort(); // the first store's writer may still clean up harmlessly
  });

  it('ignores a snapshot whose data checksum does not verify, with a reason, and prunes it later', async () => {
    const { dir, store } = await openStore();
    const older = await put(store, meta(4), randomBytes(1000));
    const newer = await put(store, meta(8), randomBytes(1000));
    const path = join(dir, `${newer.id}.snap`);
    const bytes = await readFile(path);
    bytes[500]! ^= 0x04;
    await writeFile(path, bytes);

    const { store: reopened, issues } = await openStore(dir);
    expect(reopened.latest()).toEqual(older);
    expect(issues).toEqual([{ file: join(dir, `${newer.id}.meta.json`), reason: expect.stringMatching(new RegExp(`${newer.id} ignored: data checksum mismatch`)) }]);
    await expect(reopened.open(newer.id)).rejects.toThrow(SnapshotNotFoundError);

    // The next commit's retention removes the bad snapshot's files.
    const next = await put(reopened, meta(12), Buffer.from('next'));
    expect(reopened.list()).toEqual([next, older]);
    expect((await readdir(dir)).filter((n) => n.startsWith(newer.id))).toEqual([]);
  });

  it('ignores a snapshot whose metadata was tampered with or whose data is missing or truncated', async () => {
    const { dir, store } = await openStore(undefined, 5);
    const a = await put(store, meta(1), Buffer.from('aaaa'));
    const b = await put(store, meta(2), Buffer.from('bbbb'));
    const c = await put(store, meta(3), Buffer.from('cccc'));
    const d = await put(store, meta(4), Buffer.from('dddd'));
    const metaPath = join(dir, `${b.id}.meta.json`);
    await writeFile(metaPath, (await readFile(metaPath, 'utf8')).replace('"term":1', '"term":5'));
    await writeFile(join(dir, `${c.id}.snap`), 'cc');
    await writeFile(join(dir, `${d.id}.meta.json`), '{"formatVersion":1,');

    const { store: reopened, issues } = await openStore(dir);
    expect(reopened.list()).toEqual([a]);
    const reasons = issues.map((i) => i.reason).sort();
    expect(reasons).toEqual([
      expect.stringMatching(/snap-0000000000000002-0000000000000001 ignored: metadata checksum mismatch/),
      expect.stringMatching(/snap-0000000000000003-0000000000000001 ignored: data is 2 bytes, metadata says 4/),
      expect.stringMatching(/snap-0000000000000004-0000000000000001 ignored: metadata is not valid JSON/),
    ]);
  });

  it('a stream errors with CorruptionError if the file changed after verification', async () => {
    const { dir, store } = await openStore();
    const info = await put(store, meta(6), randomBytes(2000));
    const path = join(dir, `${info.id}.snap`);
    const bytes = await readFile(path);
    bytes[1999]! ^= 0xff;
    await writeFile(path, bytes);
    await expect(readAll(await store.open(info.id))).rejects.toThrow(CorruptionError);
  });

  it('keeps serving an open stream while retention deletes its files', async () => {
    const { store } = await openStore();
    const data = randomBytes(700 * 1024);
    const first = await put(store, meta(1), data);
    const stream = await store.open(first.id);
    await put(store, meta(2), Buffer.from('2'));
    await put(store, meta(3), Buffer.from('3'));
    expect(store.list().map((s) => s.meta.index)).toEqual([3, 2]);
    expectSameBytes(await readAll(stream), data);
  });

  it('abort() removes the temp file; an aborted signal aborts the sink', async () => {
    const { dir, store } = await openStore();
    const sink = await store.create(meta(5));
    await sink.write(Buffer.from('x'));
    await sink.abort();
    await sink.abort();
    expect(await readdir(dir)).toEqual([]);
    expect(store.latest()).toBeNull();

    const ac = new AbortController();
    const sink2 = await store.create(meta(5), { signal: ac.signal }); // the id is free again
    await sink2.write(Buffer.from('y'));
    ac.abort();
    await expect(sink2.write(Buffer.from('z'))).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
    await expect(store.create(meta(6), { signal: ac.signal })).rejects.toThrow(AbortedError);
  });

  it('refuses a second writer for the same snapshot and an id already committed', async () => {
    const { store } = await openStore();
    const sink = await store.create(meta(9));
    await expect(store.create(meta(9))).rejects.toThrow(SnapshotExistsError);
    await sink.write(Buffer.from('nine'));
    await sink.commit();
    await expect(store.create(meta(9))).rejects.toThrow(SnapshotExistsError);
    await expect(store.open('snap-nope')).rejects.toThrow(SnapshotNotFoundError);
  });
});
