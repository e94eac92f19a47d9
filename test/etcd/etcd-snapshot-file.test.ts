/**
 * The etcd-format snapshot built on disk in two passes (src/service/etcd/etcd-snapshot.ts), read
 * back page by page: every key's latest version is in the "key" bucket under its own revision key,
 * in revision order, with the value it has in the store (a value written at the wrong place would
 * still make a file bbolt accepts, so this reads the values, not only the structure).
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyValue as PbKeyValue } from '../../src/gen/etcd/mvccpb/kv.js';
import type { KvStore } from '../../src/kv/index.js';
import type { ServiceKv } from '../../src/service/deps.js';
import { BOLT_PAGE_BYTES } from '../../src/service/etcd/bbolt.js';
import { keyValueBytes, writeEtcdSnapshot, writeKeyValue } from '../../src/service/etcd/etcd-snapshot.js';
import { applyAll, applyOne, delCmd, opPut, openStore, putCmd, tempDir, txnCmd } from '../kv/helpers.js';
import { HAVE_ETCDCTL } from './ctl.js';

const FLAG_LEAF = 0x02;

/** Every (key, value) of every leaf page whose keys are etcd revision keys (17 bytes, '_' at 8). */
function revisionEntries(file: Buffer): Array<{ main: number; sub: number; value: Buffer }> {
  const out: Array<{ main: number; sub: number; value: Buffer }> = [];
  for (let at = 0; at < file.length; ) {
    const flags = file.readUInt16LE(at + 8);
    const count = file.readUInt16LE(at + 10);
    const overflow = file.readUInt32LE(at + 12);
    if (flags === FLAG_LEAF) {
      for (let i = 0; i < count; i++) {
        const e = at + 16 + i * 16;
        const [elemFlags, pos, ksize, vsize] = [file.readUInt32LE(e), file.readUInt32LE(e + 4), file.readUInt32LE(e + 8), file.readUInt32LE(e + 12)];
        const key = file.subarray(e + pos, e + pos + ksize);
        if (elemFlags !== 0 || ksize !== 17 || key[8] !== 0x5f) continue;
        out.push({ main: Number(key.readBigUInt64BE(0)), sub: Number(key.readBigUInt64BE(9)), value: file.subarray(e + pos + ksize, e + pos + ksize + vsize) });
      }
    }
    at += (overflow + 1) * BOLT_PAGE_BYTES;
  }
  return out;
}

describe('etcd-format snapshot file', () => {
  let store: KvStore;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    store = await openStore(dir);
    await applyAll(store, Array.from({ length: 3000 }, (_, i) => putCmd(`k/${String((i * 7919) % 3000).padStart(5, '0')}`, `v${i}`.repeat(1 + (i % 20)))));
    await applyAll(store, Array.from({ length: 500 }, (_, i) => putCmd(`k/${String(i * 3).padStart(5, '0')}`, `again-${i}`)));
    await applyOne(store, txnCmd({ success: [opPut('t/b', 'one txn'), opPut('t/a', 'same revision'), opPut('t/c', 'x'.repeat(3 * BOLT_PAGE_BYTES))] }));
    await applyOne(store, delCmd({ prefix: 'k/001' }));
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  it('holds every key once, under its mod revision, in revision order, with its value', async () => {
    const snap = await writeEtcdSnapshot(store as unknown as ServiceKv, () => store.appliedIndex(), new AbortController().signal, dir);
    try {
      const file = await readFile(snap.path);
      expect(file.length).toBe(snap.bytes);
      expect(snap.revision).toBe(store.stats().revision);
      const entries = revisionEntries(file);
      expect(entries.length).toBe(store.stats().keys);
      const seen = new Set<string>();
      let last = [0, -1];
      for (const { main, sub, value } of entries) {
        expect(main > last[0]! || (main === last[0] && sub === last[1]! + 1)).toBe(true);
        last = [main, sub];
        const kv = PbKeyValue.decode(value);
        expect(kv.modRevision).toBe(main);
        const key = Buffer.from(kv.key).toString();
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        const { kv: stored } = await store.get(kv.key);
        expect(stored).not.toBeNull();
        expect(Buffer.from(kv.value).equals(Buffer.from(stored!.value))).toBe(true);
        expect([kv.createRevision, kv.version]).toEqual([stored!.createRevision, stored!.version]);
      }
      // The txn's three keys share its revision, with sub revisions 0, 1, 2 in key order.
      const txnRevision = entries.find((x) => PbKeyValue.decode(x.value).key.toString() === 't/a')!.main;
      const txn = entries.filter((e) => e.main === txnRevision);
      expect(txn.map((e) => [e.sub, PbKeyValue.decode(e.value).key.toString()])).toEqual([[0, 't/a'], [1, 't/b'], [2, 't/c']]);
    } finally {
      await snap.remove();
    }
    expect((await readdir(dir)).filter((n) => n.startsWith('raftkv-etcd-snapshot-'))).toEqual([]);
  });

  it('encodes a KeyValue to exactly the bytes of the generated code, and knows the size first', async () => {
    const { kvs } = await store.range({ prefix: new Uint8Array(0), start: new Uint8Array([0]), end: new Uint8Array(0), startAfter: new Uint8Array(0), limit: 200, keysOnly: false, countOnly: false });
    for (const kv of [...kvs, { key: new Uint8Array(300), value: new Uint8Array(0), createRevision: 2 ** 40, modRevision: 2 ** 40 + 1, version: 1, lease: 2 ** 52 }, { key: new Uint8Array([1]), value: new Uint8Array(200_000), createRevision: 127, modRevision: 128, version: 16_384, lease: 0 }]) {
      const pb = PbKeyValue.encode({ key: Buffer.from(kv.key), value: Buffer.from(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease ?? 0 }).finish();
      expect(keyValueBytes(kv)).toBe(pb.length);
      const out = Buffer.alloc(pb.length + 4, 0xaa);
      expect(writeKeyValue(kv, out, 2)).toBe(pb.length);
      expect(out.subarray(2, 2 + pb.length).equals(Buffer.from(pb))).toBe(true);
      expect([out[0], out[1], out[pb.length + 2], out[pb.length + 3]]).toEqual([0xaa, 0xaa, 0xaa, 0xaa]);
    }
  });

  it.skipIf(!HAVE_ETCDCTL)('is a file etcdctl snapshot status reads, with every key', async () => {
    const snap = await writeEtcdSnapshot(store as unknown as ServiceKv, () => store.appliedIndex(), new AbortController().signal, dir);
    try {
      const out = await new Promise<string>((resolve, reject) =>
        execFile('etcdctl', ['snapshot', 'status', snap.path, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
      );
      const status = JSON.parse(out) as { revision: number; totalKey: number; totalSize: number };
      // etcdctl reports the last revision key in the file: the newest live key's (the delete that
      // came after it leaves no tombstone here), and the keys plus meta's consistent_index.
      const newest = Math.max(...revisionEntries(await readFile(snap.path)).map((e) => e.main));
      expect(newest).toBe(store.stats().revision - 1);
      expect(status).toMatchObject({ revision: newest, totalKey: store.stats().keys + 1, totalSize: snap.bytes });
    } finally {
      await snap.remove();
    }
  });

  it('leaves nothing behind when the scan is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(writeEtcdSnapshot(store as unknown as ServiceKv, () => store.appliedIndex(), ac.signal, join(dir))).rejects.toThrow();
    expect((await readdir(dir)).filter((n) => n.startsWith('raftkv-etcd-snapshot-'))).toEqual([]);
  });
});
