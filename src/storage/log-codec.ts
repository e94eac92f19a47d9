/**
 * Byte layout of the raft log store (classic-level, buffer keys and values).
 *
 * Keys: one ASCII tag byte; entry keys add the index as 8 bytes big-endian so that LevelDB's
 * byte order is index order.
 *   'e' + index  an entry        'h' hard state      'c' conf state
 *   'd'          the compaction point (index and term of the dummy entry at firstIndex - 1)
 *   's'          meta of the latest snapshot
 *
 * Values: [crc32c u32 BE][format version u8][body]. The checksum covers the key bytes followed by
 * version and body, so an entry's checksum covers (index, term, type, data), and a value copied
 * under another key fails verification.
 */
import { assert } from '../common/assert.js';
import type { ConfState, Entry, HardState, SnapshotMeta } from '../raft/types.js';
import { crc32c } from './crc32c.js';

export const LOG_FORMAT_VERSION = 1;

const TAG_ENTRY = 0x65; // 'e'
const HEADER_BYTES = 5;
const U64_HIGH = 0x1_0000_0000;
export const KEY_HARD_STATE = Buffer.from('h');
export const KEY_CONF_STATE = Buffer.from('c');
export const KEY_COMPACTION_POINT = Buffer.from('d');
export const KEY_SNAPSHOT_META = Buffer.from('s');
/** Entry keys lie in [ENTRY_KEY_MIN, ENTRY_KEY_END). */
export const ENTRY_KEY_MIN = entryKey(0);
export const ENTRY_KEY_END = Buffer.from([TAG_ENTRY + 1]);


/** A record that cannot be decoded; the loader turns it into a CorruptionError naming dir and key. */
export class RecordDecodeError extends Error {
  override readonly name = 'RecordDecodeError';
}

/** The index and term of the dummy entry at firstIndex - 1. */
export interface CompactionPoint {
  readonly index: number;
  readonly term: number;
}

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = TAG_ENTRY;
  writeU64(key, 1, index);
  return key;
}

/** The index of an entry key, or -1 when `key` is not an entry key. */
export function entryKeyIndex(key: Uint8Array): number {
  if (key.length !== 9 || key[0] !== TAG_ENTRY) return -1;
  return readU64(key, 1);
}

export function encodeEntry(e: Entry): Buffer {
  const body = Buffer.allocUnsafe(1 + 8 + 1 + e.data.byteLength);
  body[0] = LOG_FORMAT_VERSION;
  writeU64(body, 1, e.term);
  body[9] = e.type;
  body.set(e.data, 10);
  return seal(entryKey(e.index), body);
}

/** Decode and verify an entry record read under `key`. Throws RecordDecodeError. */
export function decodeEntry(key: Uint8Array, value: Uint8Array): Entry {
  const index = entryKeyIndex(key);
  if (index < 0) throw new RecordDecodeError('not an entry key');
  const body = open(key, value);
  if (body.length < 10) throw new RecordDecodeError(`entry record is ${value.length} bytes, too short`);
  const type = body[9]!;
  if (type !== 0 && type !== 1) throw new RecordDecodeError(`unknown entry type ${type}`);
  // A plain Uint8Array view (not a Buffer) so entries compare equal to those the core created.
  const data = new Uint8Array(body.buffer, body.byteOffset + 10, body.length - 10);
  return { index, term: readU64(body, 1), type: type, data };
}

export function encodeHardState(hs: HardState): Buffer {
  const body = Buffer.allocUnsafe(1 + 24);
  body[0] = LOG_FORMAT_VERSION;
  writeU64(body, 1, hs.term);
  writeU64(body, 9, hs.vote);
  writeU64(body, 17, hs.commit);
  return seal(KEY_HARD_STATE, body);
}

export function decodeHardState(value: Uint8Array): HardState {
  const body = open(KEY_HARD_STATE, value);
  expectLength(body, 25, 'hard state');
  return { term: readU64(body, 1), vote: readU64(body, 9), commit: readU64(body, 17) };
}

export function encodeCompactionPoint(p: CompactionPoint): Buffer {
  const body = Buffer.allocUnsafe(17);
  body[0] = LOG_FORMAT_VERSION;
  writeU64(body, 1, p.index);
  writeU64(body, 9, p.term);
  return seal(KEY_COMPACTION_POINT, body);
}

export function decodeCompactionPoint(value: Uint8Array): CompactionPoint {
  const body = open(KEY_COMPACTION_POINT, value);
  expectLength(body, 17, 'compaction point');
  return { index: readU64(body, 1), term: readU64(body, 9) };
}

export function encodeConfState(cs: ConfState): Buffer {
  const conf = confBytes(cs);
  const body = Buffer.allocUnsafe(1 + conf.length);
  body[0] = LOG_FORMAT_VERSION;
  body.set(conf, 1);
  return seal(KEY_CONF_STATE, body);
}

export function decodeConfState(value: Uint8Array): ConfState {
  const body = open(KEY_CONF_STATE, value);
  const { conf, end } = readConf(body, 1);
  expectLength(body, end, 'conf state');
  return conf;
}

export function encodeSnapshotMeta(meta: SnapshotMeta): Buffer {
  const conf = confBytes(meta.conf);
  const body = Buffer.allocUnsafe(17 + conf.length);
  body[0] = LOG_FORMAT_VERSION;
  writeU64(body, 1, meta.index);
  writeU64(body, 9, meta.term);
  body.set(conf, 17);
  return seal(KEY_SNAPSHOT_META, body);
}

export function decodeSnapshotMeta(value: Uint8Array): SnapshotMeta {
  const body = open(KEY_SNAPSHOT_META, value);
  if (body.length < 17) throw new RecordDecodeError('snapshot meta record too short');
  const { conf, end } = readConf(body, 17);
  expectLength(body, end, 'snapshot meta');
  return { index: readU64(body, 1), term: readU64(body, 9), conf };
}

function confBytes(cs: ConfState): Buffer {
  const buf = Buffer.allocUnsafe(8 + 8 * (cs.voters.length + cs.learners.length));
  let at = 0;
  for (const ids of [cs.voters, cs.learners]) {
    buf.writeUInt32BE(ids.length, at);
    at += 4;
    for (const id of ids) {
      writeU64(buf, at, id);
      at += 8;
    }
  }
  return buf;
}

function readConf(body: Uint8Array, start: number): { conf: ConfState; end: number } {
  let at = start;
  const lists: number[][] = [];
  for (let l = 0; l < 2; l++) {
    if (at + 4 > body.length) throw new RecordDecodeError('conf state truncated');
    const n = readU32(body, at);
    at += 4;
    if (at + 8 * n > body.length) throw new RecordDecodeError(`conf state lists ${n} ids past the record end`);
    const ids: number[] = [];
    for (let i = 0; i < n; i++, at += 8) ids.push(readU64(body, at));
    lists.push(ids);
  }
  return { conf: { voters: lists[0]!, learners: lists[1]! }, end: at };
}

/** Prefix `body` (whose first byte is the format version) with the checksum over key ++ body. */
function seal(key: Uint8Array, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(crc32c(body, crc32c(key)), 0);
  out.set(body, 4);
  return out;
}

/** Verify the checksum and version of a record and return its body (version byte included). */
function open(key: Uint8Array, value: Uint8Array): Uint8Array {
  if (value.length < HEADER_BYTES) throw new RecordDecodeError(`record is ${value.length} bytes, too short`);
  const stored = readU32(value, 0);
  const body = value.subarray(4);
  const actual = crc32c(body, crc32c(key));
  if (stored !== actual) {
    throw new RecordDecodeError(`checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);
  }
  if (body[0] !== LOG_FORMAT_VERSION) throw new RecordDecodeError(`unknown record format version ${body[0]}`);
  return body;
}

function expectLength(body: Uint8Array, expected: number, what: string): void {
  if (body.length !== expected) throw new RecordDecodeError(`${what} record body is ${body.length} bytes, expected ${expected}`);
}

function writeU64(buf: Buffer, at: number, n: number): void {
  assert(Number.isSafeInteger(n) && n >= 0, () => `not a non-negative safe integer: ${n}`);
  buf.writeUInt32BE(Math.floor(n / U64_HIGH), at);
  buf.writeUInt32BE(n >>> 0, at + 4);
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function readU64(b: Uint8Array, at: number): number {
  const high = readU32(b, at);
  // Above 2^53 a number loses precision; no index, term or node id can get there.
  if (high >= 0x20_0000) throw new RecordDecodeError(`64-bit field at offset ${at} exceeds 2^53`);
  return high * U64_HIGH + readU32(b, at + 4);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
