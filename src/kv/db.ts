import type { AbstractLevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { writeChained } from '../common/level-batch.js';
import { decodeKeyValue, encodeKeyValue } from './codec.js';
import type { KeyValue } from './types.js';

/**
 * The kv database: buffer keys and values (layout in src/kv/keys.ts). Any abstract-level store with
 * explicit snapshots and getSync serves (classic-level in production, memory-level in the
 * simulation); `location` names it in errors, `compactRange` reclaims space (Defragment).
 */
export type Db = AbstractLevel<string | Buffer | Uint8Array, Buffer, Buffer> & {
  readonly location: string;
  compactRange(start: Buffer, end: Buffer): Promise<void>;
};
export type DbSnapshot = ReturnType<Db['snapshot']>;
export type DbOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** A classic-level database in the directory `location`. */
export async function openDb(location: string): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  return db;
}

/** Writes `ops` as one atomic batch (through a chained batch: src/common/level-batch.ts says why). */
export function writeBatch(db: Db, ops: readonly DbOp[]): Promise<void> {
  return writeChained(db.batch(), ops);
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** The stored form of a user key's record: its KeyValue without the key (the db key holds it). */
export function encodeStored(kv: KeyValue): Buffer {
  const bytes = encodeKeyValue({ ...kv, key: EMPTY });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeStored(key: Uint8Array, stored: Uint8Array): KeyValue {
  return { ...decodeKeyValue(stored), key };
}

export function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function readU64(b: Buffer | undefined): number {
  return b === undefined || b.length !== 8 ? 0 : Number(b.readBigUInt64BE());
}
