/**
 * The whole keyspace at one revision, read through the store's public range pages. Every page is
 * its own consistent read; the pages form one state only if none reports another revision, so a
 * write in between restarts the scan (each effective write changes the revision).
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { RaftkvError } from '../../common/errors.js';
import type { KeyValue } from '../../kv/types.js';
import type { ServiceKv } from '../deps.js';

/** A busy store may change under a scan; after this many restarts the call gives up (etcd: timeout). */
export const KEYSPACE_SCAN_ATTEMPTS_MAX = 20;

const EMPTY = new Uint8Array(0);

export class KeyspaceBusyError extends RaftkvError {
  override readonly name = 'KeyspaceBusyError';
  constructor() {
    super('TIMEOUT', `the keyspace changed during ${KEYSPACE_SCAN_ATTEMPTS_MAX} scans in a row: retry when writes are fewer`);
  }
}

/**
 * Calls `begin` then `page` for every page of the keyspace, in key order, all at one revision;
 * `begin` runs again at each restart. Resolves with that revision.
 */
export async function scanKeyspace(kv: ServiceKv, signal: AbortSignal, begin: () => void, page: (kvs: readonly KeyValue[]) => void): Promise<number> {
  for (let attempt = 0; attempt < KEYSPACE_SCAN_ATTEMPTS_MAX; attempt++) {
    signal.throwIfAborted();
    begin();
    let revision = -1;
    let startAfter: Uint8Array = EMPTY;
    let consistent = true;
    for (;;) {
      signal.throwIfAborted();
      const r = await kv.range({ prefix: EMPTY, start: EMPTY, end: EMPTY, startAfter, limit: 0, keysOnly: false, countOnly: false });
      if (revision === -1) revision = r.revision;
      if (r.revision !== revision) {
        consistent = false;
        break;
      }
      page(r.kvs);
      if (!r.more) break;
      startAfter = r.nextStartAfter;
    }
    if (consistent) return revision;
  }
  throw new KeyspaceBusyError();
}

/**
 * raftkv's HashKV: CRC-32 (IEEE) over every key's bytes, value, create and mod revisions, version
 * and lease, in key order. Replicas that applied the same revision give the same hash.
 */
export async function hashKeyspace(kv: ServiceKv, signal: AbortSignal): Promise<{ hash: number; revision: number }> {
  let hash = 0;
  const fields = Buffer.alloc(32);
  const revision = await scanKeyspace(
    kv,
    signal,
    () => (hash = 0),
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

/** SHA-256 of a sequence of chunks (the Snapshot stream's trailer). */
export function sha256Of(chunks: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest();
}
