/**
 * Layout of the kv database (classic-level, buffer keys and values). One byte namespaces the key:
 *   'k' + user key   -> encoded KeyValue without its key (value and revisions)
 *   'd' + client id  -> dedupe record of that client (src/kv/dedupe.ts)
 *   'm' + name       -> store metadata (applied index, revision, key count, format)
 *   'l' + u64 id     -> a lease: u64 TTL in seconds (src/kv/leases.ts)
 *   'a' + u64 id + user key -> empty: the key is attached to that lease (revoke finds its keys here)
 *   'xauth'          -> the auth state, one JSON record (src/kv/auth-section.ts)
 *   'v' + escaped user key + u64 revision -> every version of every key, deletes included, until
 *        compacted (src/kv/mvcc-keys.ts); Range at a past revision reads these
 *   'h' + u64 revision + u32 n -> the changes of each revision, in order, until compacted: watches
 *        that start in the past read these
 * 'k' duplicates each key's latest version so current reads and the apply path stay point reads.
 * Everything lives in one db so one batch updates data, metadata, leases and dedupe together, and
 * the snapshot (every db entry) carries the leases too.
 */
export const NS_KEY = 0x6b; // 'k'
export const NS_DEDUPE = 0x64; // 'd'
export const NS_META = 0x6d; // 'm'
export const NS_LEASE = 0x6c; // 'l'
export const NS_ATTACH = 0x61; // 'a'

function withId(ns: number, id: number, rest: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + rest.length);
  out[0] = ns;
  out.writeBigUInt64BE(BigInt(id), 1);
  out.set(rest, 9);
  return out;
}

export function leaseKey(id: number): Buffer {
  return withId(NS_LEASE, id);
}

export function leaseIdOf(dbKey: Buffer): number {
  return Number(dbKey.readBigUInt64BE(1));
}

export function attachKey(id: number, key: Uint8Array): Buffer {
  return withId(NS_ATTACH, id, key);
}

/** Bounds of every attachment of lease `id`. */
export function attachBounds(id: number): { gte: Buffer; lt: Buffer } {
  return { gte: withId(NS_ATTACH, id), lt: withId(NS_ATTACH, id + 1) };
}

export const META_APPLIED = meta('applied');
export const META_REVISION = meta('revision');
export const META_KEYS = meta('keys');
export const META_FORMAT = meta('format');
/** The compacted revision: reads and watches before it are refused. */
export const META_COMPACTED = meta('compacted');
/** A physical compaction in progress (src/kv/compaction.ts cursor); absent when none is. */
export const META_COMPACTING = meta('compacting');
/** 2: the multi-version keyspace ('v', 'h', compaction metadata). A format-1 db is upgraded at open. */
export const FORMAT_VERSION = 2;
export const FORMAT_VERSION_LATEST_ONLY = 1;

function meta(name: string): Buffer {
  return Buffer.concat([Buffer.of(NS_META), Buffer.from(name, 'utf8')]);
}

export function dataKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.length + 1);
  out[0] = NS_KEY;
  out.set(key, 1);
  return out;
}

export function userKey(dbKey: Uint8Array): Uint8Array {
  return dbKey.subarray(1);
}

export function dedupeKey(clientId: string): Buffer {
  return Buffer.concat([Buffer.of(NS_DEDUPE), Buffer.from(clientId, 'utf8')]);
}

/** Bounds of one namespace: [ns, ns + 1). */
export function namespaceBounds(ns: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.of(ns), lt: Buffer.of(ns + 1) };
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * The first key after every key that starts with `prefix`, or null when there is none (an empty
 * prefix or one of only 0xff bytes: the range runs to the end of the keyspace).
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] ?? 0xff;
    if (byte < 0xff) {
      const end = Uint8Array.prototype.slice.call(prefix, 0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return null;
}

/** A half-open range of user keys; `end` null means "to the last key". */
export interface KeyRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array | null;
}

export function prefixRange(prefix: Uint8Array): KeyRange {
  return { start: prefix, end: prefixEnd(prefix) };
}

export function inRange(key: Uint8Array, range: KeyRange): boolean {
  return compareBytes(key, range.start) >= 0 && (range.end === null || compareBytes(key, range.end) < 0);
}

export function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  return key.length >= prefix.length && Buffer.compare(key.subarray(0, prefix.length), prefix) === 0;
}
