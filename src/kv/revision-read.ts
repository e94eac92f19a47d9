import type { Db, DbSnapshot } from './db.js';
import { decodeStored } from './db.js';
import { collectPage, rangeBounds } from './execute.js';
import { compareBytes } from './keys.js';
import type { KvLimits } from './limits.js';
import { NS_VERSION, parseVersionKey, versionBound, versionKey, versionRevision, versionsEnd } from './mvcc-keys.js';
import type { KeyValue, RangeOp, RangeResult } from './types.js';

/** Version records read from the db per step (nextv). */
const VERSION_STEP_ENTRIES = 256;
/** A version record's db key ends with 0x00 0x01 + u64 revision after the escaped user key. */
const VERSION_SUFFIX_BYTES = 10;

/** The key as of `revision` (its latest version at or before it), or null if it did not exist then. */
export async function getAt(db: Db, snapshot: DbSnapshot, key: Uint8Array, revision: number): Promise<KeyValue | null> {
  const it = db.iterator({ gte: versionKey(key, 0), lte: versionKey(key, revision), reverse: true, limit: 1, snapshot });
  try {
    const entry = await it.next();
    if (entry === undefined) return null;
    const [, stored] = entry;
    return stored.length === 0 ? null : decodeStored(key, stored);
  } finally {
    await it.close();
  }
}

/** A Range page over the keyspace as of `revision` (same limit, count and `more` rules as readRange). */
export async function readRangeAt(
  db: Db,
  snapshot: DbSnapshot,
  op: RangeOp,
  revision: number,
  limits: Pick<KvLimits, 'rangeKvsMax' | 'rangePageBytesMax'>,
): Promise<Omit<RangeResult, 'revision'>> {
  const { range, after } = rangeBounds(op);
  const gte = after !== null && compareBytes(after, range.start) >= 0 ? versionsEnd(after) : versionBound(range.start);
  const lt = range.end === null ? Buffer.of(NS_VERSION + 1) : versionBound(range.end);
  return collectPage(versionsAt(db, snapshot, gte, lt, revision), op, limits);
}

/**
 * The live keys of [gte, lt) as of `revision`, in key order: the versions of one key are adjacent
 * and in revision order, so each key's last version at or before `revision` is the one to keep,
 * unless it is a delete (an empty record).
 */
async function* versionsAt(db: Db, snapshot: DbSnapshot, gte: Buffer, lt: Buffer, revision: number): AsyncGenerator<KeyValue> {
  const it = db.iterator({ gte, lt, snapshot });
  let keyPart: Buffer | null = null;
  let best: [Buffer, Buffer] | null = null;
  const emit = (): KeyValue | null => {
    if (best === null || best[1].length === 0) return null;
    const parsed = parseVersionKey(best[0]);
    return parsed === null ? null : decodeStored(parsed.key, best[1]);
  };
  try {
    while (true) {
      const entries = await it.nextv(VERSION_STEP_ENTRIES);
      if (entries.length === 0) break;
      for (const entry of entries) {
        const [dbKey] = entry;
        const part = dbKey.subarray(0, dbKey.length - VERSION_SUFFIX_BYTES);
        if (keyPart === null || !part.equals(keyPart)) {
          const kv = emit();
          if (kv !== null) yield kv;
          keyPart = part;
          best = null;
        }
        if (versionRevision(dbKey) <= revision) best = entry;
      }
    }
    const kv = emit();
    if (kv !== null) yield kv;
  } finally {
    await it.close();
  }
}
