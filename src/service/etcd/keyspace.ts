/**
 * The whole keyspace at one revision, read page by page through the store's MVCC range reads at
 * that revision, so writes that land during the scan do not change what it sees.
 */
import { crc32 } from 'node:zlib';
import type { KeyValue } from '../../kv/types.js';
import type { ServiceKv } from '../deps.js';

const EMPTY = new Uint8Array(0);

/**
 * Calls `page` for every page of the keyspace as of `atRevision` (0: the current revision), in key
 * order. Resolves with that revision. A revision that is compacted (or compacted during the scan)
 * throws the store's compacted error.
 */
export async function scanKeyspace(kv: ServiceKv, signal: AbortSignal, page: (kvs: readonly KeyValue[]) => void, atRevision = 0): Promise<number> {
  const revision = atRevision > 0 ? atRevision : kv.stats().revision;
  let startAfter: Uint8Array = EMPTY;
  for (;;) {
    signal.throwIfAborted();
    const r = await kv.range({ prefix: EMPTY, start: EMPTY, end: EMPTY, startAfter, limit: 0, keysOnly: false, countOnly: false, pageOnly: true }, revision);
    page(r.kvs);
    if (!r.more) return revision;
    startAfter = r.nextStartAfter;
  }
}

/**
 * raftkv's HashKV: CRC-32 (IEEE) over every key's bytes, value, create and mod revisions, version
 * and lease, in key order. Replicas that applied the same revision give the same hash.
 */
export async function hashKeyspace(kv: ServiceKv, signal: AbortSignal, atRevision = 0): Promise<{ hash: number; revision: number }> {
  let hash = 0;
  const fields = Buffer.alloc(32);
  const revision = await scanKeyspace(
    kv,
    signal,
    (kvs) => {
      for (const e of kvs) {
        fields.writeBigUInt64BE(BigInt(e.createRevision), 0);
        fields.writeBigUInt64BE(BigInt(e.modRevision), 8);
        fields.writeBigUInt64BE(BigInt(e.version), 16);
        fields.writeBigUInt64BE(BigInt(e.lease ?? 0), 24);
        hash = crc32(lengthPrefixed(e.key), hash);
        hash = crc32(lengthPrefixed(e.value), hash);
        hash = crc32(fields, hash);
      }
    },
    atRevision,
  );
  return { hash, revision };
}

/** A length before the bytes, so ("ab","c") and ("a","bc") hash differently. */
function lengthPrefixed(b: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32BE(b.length, 0);
  out.set(b, 4);
  return out;
}
