import type { Db, DbOp } from './db.js';
import { decodeStored, u64 } from './db.js';
import { FORMAT_VERSION, META_COMPACTED, META_FORMAT, NS_KEY, namespaceBounds, userKey } from './keys.js';
import { versionKey } from './mvcc-keys.js';

/**
 * Upgrades a format-1 db (latest version of each key only) to the multi-version layout: each key's
 * latest version becomes its only version record and the current revision becomes the compacted
 * one, since no older version exists (reads and watches before it are refused as compacted).
 */
export async function upgradeLatestOnly(db: Db, revision: number, batchBytes: number): Promise<void> {
  let batch: DbOp[] = [];
  let bytes = 0;
  for await (const [dbKey, stored] of db.iterator(namespaceBounds(NS_KEY))) {
    const kv = decodeStored(userKey(dbKey), stored);
    batch.push({ type: 'put', key: versionKey(kv.key, kv.modRevision), value: stored });
    bytes += dbKey.length + stored.length;
    if (bytes >= batchBytes) {
      await db.batch(batch);
      [batch, bytes] = [[], 0];
    }
  }
  batch.push({ type: 'put', key: META_COMPACTED, value: u64(revision) }, { type: 'put', key: META_FORMAT, value: u64(FORMAT_VERSION) });
  await db.batch(batch);
}
