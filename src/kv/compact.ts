import type { KvStore } from './store.js';

/**
 * etcd's Defragment for the state machine's LevelDB: compacts its whole key space (classic-level's
 * compactRange), which drops the tombstones of deleted and overwritten keys and merges tables.
 * KvStore has no compaction method yet (its file is being rewritten for MVCC); this reaches its
 * current database from outside until one exists.
 */
export async function compactKvStore(store: KvStore, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const db = (store as unknown as { readonly db: { compactRange(start: Buffer, end: Buffer): Promise<void> } }).db;
  // The largest key of any namespace starts with a byte below 0xff (src/kv/keys.ts uses letters).
  await db.compactRange(Buffer.from([0x00]), Buffer.from([0xff, 0xff, 0xff, 0xff]));
}
