/**
 * Db keys of the multi-version keyspace (the layout is described in src/kv/keys.ts):
 *   'v' + esc(user key) + 0x00 0x01 + u64 revision -> that version of the key: its stored KeyValue
 *        (src/kv/db.ts encodeStored), or an empty value for the delete (tombstone) at that revision
 *   'h' + u64 revision + u32 n -> the n-th change of that revision: u8 type, u64 previous mod
 *        revision, user key (the change's KeyValue is the 'v' record of key at revision)
 * esc() doubles every 0x00 byte as 0x00 0xff and the version records end the key with 0x00 0x01, so
 * the versions of one key are adjacent, in revision order, and keys keep their byte order: a key's
 * versions sort before those of every longer key that starts with it.
 */
export const NS_VERSION = 0x76; // 'v'
export const NS_HISTORY = 0x68; // 'h'

const ZERO = 0x00;
const ZERO_ESCAPED = 0xff;
const TERMINATOR = 0x01;

/** Big-endian u64 of a safe integer without a BigInt (the apply path writes two per change). */
function writeU64(out: Buffer, n: number, at: number): void {
  out.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at);
  out.writeUInt32BE(n >>> 0, at + 4);
}

function readU64At(b: Uint8Array, at: number): number {
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return view.readUInt32BE(at) * 0x1_0000_0000 + view.readUInt32BE(at + 4);
}

function escapedLength(key: Uint8Array): number {
  let n = key.length;
  for (const byte of key) if (byte === ZERO) n++;
  return n;
}

function writeEscaped(out: Buffer, at: number, key: Uint8Array): number {
  let p = at;
  for (const byte of key) {
    out[p++] = byte;
    if (byte === ZERO) out[p++] = ZERO_ESCAPED;
  }
  return p;
}

/** 'v' + esc(key): every version of keys >= key sorts at or after it; those of keys < key before it. */
export function versionBound(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + escapedLength(key));
  out[0] = NS_VERSION;
  writeEscaped(out, 1, key);
  return out;
}

/** The first db key after every version of `key` (and before the versions of longer keys). */
export function versionsEnd(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + escapedLength(key) + 2);
  out[0] = NS_VERSION;
  const p = writeEscaped(out, 1, key);
  out[p] = ZERO;
  out[p + 1] = TERMINATOR + 1;
  return out;
}

export function versionKey(key: Uint8Array, revision: number): Buffer {
  const out = Buffer.allocUnsafe(1 + escapedLength(key) + 2 + 8);
  out[0] = NS_VERSION;
  let p = writeEscaped(out, 1, key);
  out[p++] = ZERO;
  out[p++] = TERMINATOR;
  writeU64(out, revision, p);
  return out;
}

/** The user key and revision of a version record's db key; null if it is not one. */
export function parseVersionKey(dbKey: Uint8Array): { key: Uint8Array; revision: number } | null {
  if (dbKey[0] !== NS_VERSION || dbKey.length < 11) return null;
  const end = dbKey.length - 10;
  if (dbKey[end] !== ZERO || dbKey[end + 1] !== TERMINATOR) return null;
  const key = new Uint8Array(end);
  let n = 0;
  for (let i = 1; i < end; i++) {
    const byte = dbKey[i] as number;
    key[n++] = byte;
    if (byte === ZERO) {
      if (dbKey[i + 1] !== ZERO_ESCAPED) return null;
      i++;
    }
  }
  return { key: key.subarray(0, n), revision: readU64At(dbKey, end + 2) };
}

/** The revision of a version record's db key. */
export function versionRevision(dbKey: Uint8Array): number {
  return readU64At(dbKey, dbKey.length - 8);
}

export function historyKey(revision: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  out[0] = NS_HISTORY;
  writeU64(out, revision, 1);
  out.writeUInt32BE(n, 9);
  return out;
}

/** The first history key of `revision` (a bound: every change of revisions >= it sorts at or after). */
export function historyBound(revision: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = NS_HISTORY;
  writeU64(out, revision, 1);
  return out;
}

export function historyRevision(dbKey: Uint8Array): number {
  return readU64At(dbKey, 1);
}

export interface HistoryRecord {
  readonly type: 0 | 1;
  readonly prevModRevision: number;
  readonly key: Uint8Array;
}

export function encodeHistoryRecord(r: HistoryRecord): Buffer {
  const out = Buffer.allocUnsafe(9 + r.key.length);
  out[0] = r.type;
  writeU64(out, r.prevModRevision, 1);
  out.set(r.key, 9);
  return out;
}

export function decodeHistoryRecord(value: Uint8Array): HistoryRecord | null {
  if (value.length < 9 || (value[0] !== 0 && value[0] !== 1)) return null;
  return { type: value[0], prevModRevision: readU64At(value, 1), key: Uint8Array.prototype.slice.call(value, 9) };
}
