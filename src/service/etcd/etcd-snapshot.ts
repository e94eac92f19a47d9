/**
 * The keyspace as an etcd backend file (bbolt, bucket "key": 17-byte revision keys → mvccpb.KeyValue;
 * bucket "meta": consistent_index), the form `etcdctl snapshot save` stores and `snapshot status`
 * reads. It holds the latest version of each key at one revision, no history and no tombstones;
 * leases, members and alarms are not in it (raftkv restores from its own snapshots).
 *
 * Built on disk in two passes over the keyspace at one revision, with memory bounded by two numbers
 * per key: the first pass learns each key's mod revision and encoded size, which fixes the whole
 * layout (the bucket is in revision order, the scan in key order); the tree is written with the
 * values left as placeholders, and the second pass writes each value at its place. Building the
 * file in memory cost about a gigabyte of objects at a million keys, and most of the time in GC.
 */
import { writeSync } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, RaftkvError } from '../../common/errors.js';
import type { KeyValue } from '../../kv/types.js';
import type { ServiceKv } from '../deps.js';
import { BOLT_PAGE_BYTES, writeBolt } from './bbolt.js';
import { scanKeyspace } from './keyspace.js';

/** A file up to this size (the in-memory build's old limit) gets its values filled in memory, then one write; a larger one in place. */
export const SNAPSHOT_IMAGE_BYTES_MAX = 512 * 1024 * 1024;
/** Consecutive pages are gathered up to this many bytes before one positional write. */
const WRITE_RUN_BYTES = 1024 * 1024;

/** The two scans of one revision disagreed: a bug, never expected (the file is discarded). */
export class SnapshotScanError extends RaftkvError {
  override readonly name = 'SnapshotScanError';
  constructor(message: string) {
    super(ErrorCode.Internal, message);
  }
}

export interface EtcdSnapshotFile {
  readonly revision: number;
  /** The file; whole 4 KiB pages, so its size is a multiple of 512 as etcdctl expects. */
  readonly path: string;
  readonly bytes: number;
  /** Deletes the file and its directory. */
  remove(): Promise<void>;
}

/** Writes the snapshot file in a new directory under `scratchDir`; the caller removes it. */
export async function writeEtcdSnapshot(kv: ServiceKv, appliedIndex: () => number, signal: AbortSignal, scratchDir: string): Promise<EtcdSnapshotFile> {
  const dir = await mkdtemp(join(scratchDir, 'raftkv-etcd-snapshot-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'db');
    const file = await open(path, 'w+');
    try {
      const { revision, pages } = await writeFile(kv, appliedIndex, signal, file);
      return { revision, path, bytes: pages * BOLT_PAGE_BYTES, remove };
    } finally {
      await file.close();
    }
  } catch (e) {
    await remove();
    throw e;
  }
}

async function writeFile(kv: ServiceKv, appliedIndex: () => number, signal: AbortSignal, file: FileHandle): Promise<{ revision: number; pages: number }> {
  // Pass 1, in key order: each key's mod revision and encoded size (entry i is the i-th key).
  const modRevisions: number[] = [];
  const sizes: number[] = [];
  const revision = await scanKeyspace(kv, signal, (page) => {
    for (const e of page) {
      modRevisions.push(e.modRevision);
      sizes.push(keyValueBytes(e));
    }
  });
  const consistentIndex = Buffer.alloc(8);
  consistentIndex.writeBigUInt64BE(BigInt(appliedIndex()));
  const order = byRevision(modRevisions);
  const valueAt = new Float64Array(order.length);
  const sink = new RunWriter(file);
  const pages = await writeBolt(
    [
      { name: 'key', entries: keyBucket(order, modRevisions, sizes) },
      { name: 'meta', entries: [[Buffer.from('consistent_index'), consistentIndex]] },
    ],
    (id, run) => sink.write(id, run),
    (bucket, n, at) => void (bucket === 'key' && (valueAt[order[n]!] = at)),
  );
  await sink.flush();
  // Pass 2, the same keys at the same revision: each value into its place, in an image of the file
  // when it is small enough (one positional write per value cost ~20 µs of syscall each), else in
  // the file itself.
  const bytes = pages * BOLT_PAGE_BYTES;
  const image = bytes <= SNAPSHOT_IMAGE_BYTES_MAX ? await file.readFile() : null;
  let i = 0;
  let spare = Buffer.alloc(0);
  await scanKeyspace(
    kv,
    signal,
    (page) => {
      for (const e of page) {
        if (i >= sizes.length || e.modRevision !== modRevisions[i]) throw new SnapshotScanError(`etcd snapshot: key ${i} differs between the two scans at revision ${revision}`);
        const size = sizes[i]!;
        if (image !== null) {
          if (writeKeyValue(e, image, valueAt[i]!) !== size) throw new SnapshotScanError(`etcd snapshot: key ${i} changed size between the two scans`);
        } else {
          if (spare.length < size) spare = Buffer.alloc(size * 2);
          if (writeKeyValue(e, spare, 0) !== size) throw new SnapshotScanError(`etcd snapshot: key ${i} changed size between the two scans`);
          writeSync(file.fd, spare, 0, size, valueAt[i]);
        }
        i++;
      }
    },
    revision,
  );
  if (i !== sizes.length) throw new SnapshotScanError(`etcd snapshot: ${i} keys in the second scan, ${sizes.length} in the first`);
  if (image !== null) await file.write(image, 0, image.length, 0);
  return { revision, pages };
}

/** Entry indexes in etcd's backend order: by mod revision, then (within one txn) by key. */
function byRevision(modRevisions: readonly number[]): Uint32Array {
  const order = new Uint32Array(modRevisions.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => modRevisions[a]! - modRevisions[b]! || a - b);
}

/** The "key" bucket in order: etcd's backend key (main revision, '_', sub revision) and the value's size. */
function* keyBucket(order: Uint32Array, modRevisions: readonly number[], sizes: readonly number[]): Generator<readonly [Uint8Array, number]> {
  let sub = 0;
  for (let n = 0; n < order.length; n++) {
    const i = order[n]!;
    sub = n > 0 && modRevisions[order[n - 1]!] === modRevisions[i] ? sub + 1 : 0;
    const k = Buffer.alloc(17);
    k.writeBigUInt64BE(BigInt(modRevisions[i]!), 0);
    k[8] = 0x5f; // '_'
    k.writeBigUInt64BE(BigInt(sub), 9);
    yield [k, sizes[i]!];
  }
}

/** Bytes of a varint (non-negative safe integers: revisions, versions and lease ids are). */
function varintBytes(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  let v = n;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/**
 * The size of mvccpb.KeyValue encoded (proto3: zero fields are left out). The snapshot encodes
 * millions of them, so by hand (the generated encoder's writer cost several microseconds each);
 * test/etcd/etcd-snapshot-file.test.ts holds both to the generated code's bytes.
 */
export function keyValueBytes(e: KeyValue): number {
  const bytesField = (b: Uint8Array): number => (b.length === 0 ? 0 : 1 + varintBytes(b.length) + b.length);
  const intField = (n: number): number => (n === 0 ? 0 : 1 + varintBytes(n));
  return bytesField(e.key) + intField(e.createRevision) + intField(e.modRevision) + intField(e.version) + bytesField(e.value) + intField(e.lease ?? 0);
}

/** mvccpb.KeyValue encoded into `out` at `at` (fields 1-6 in order); returns the bytes written. */
export function writeKeyValue(e: KeyValue, out: Buffer, at: number): number {
  let p = at;
  const bytesField = (tag: number, b: Uint8Array): void => {
    if (b.length === 0) return;
    out[p++] = tag;
    p = writeVarint(out, p, b.length);
    out.set(b, p);
    p += b.length;
  };
  const intField = (tag: number, n: number): void => {
    if (n === 0) return;
    out[p++] = tag;
    p = writeVarint(out, p, n);
  };
  bytesField(0x0a, e.key);
  intField(0x10, e.createRevision);
  intField(0x18, e.modRevision);
  intField(0x20, e.version);
  bytesField(0x2a, e.value);
  intField(0x30, e.lease ?? 0);
  return p - at;
}

/** Gathers consecutive pages into one positional write. */
class RunWriter {
  private run: Buffer[] = [];
  private runBytes = 0;
  private runStartId = 0;

  constructor(private readonly file: FileHandle) {}

  async write(id: number, pages: Buffer): Promise<void> {
    if (this.run.length > 0 && (id !== this.runStartId + this.runBytes / BOLT_PAGE_BYTES || this.runBytes >= WRITE_RUN_BYTES)) await this.flush();
    if (this.run.length === 0) this.runStartId = id;
    this.run.push(pages);
    this.runBytes += pages.length;
  }

  async flush(): Promise<void> {
    if (this.run.length === 0) return;
    const bytes = Buffer.concat(this.run);
    await this.file.write(bytes, 0, bytes.length, this.runStartId * BOLT_PAGE_BYTES);
    [this.run, this.runBytes] = [[], 0];
  }
}
