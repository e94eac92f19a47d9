import type { Db, DbSnapshot } from './db.js';
import { decodeStored } from './db.js';
import { collectPage, rangeBounds } from './range-page.js';
import { compareBytes, inRange, type KeyRange } from './keys.js';
import type { KvLimits } from './limits.js';
import { NS_VERSION, parseVersionKey, versionBound, versionKey, versionRevision, versionsEnd } from './mvcc-keys.js';
import { overlayKey } from './scan.js';
import { EventType, type KeyValue, type RangeOp, type RangeResult, type WatchEvent } from './types.js';

/**
 * The changes of the apply batch in progress, not yet in the db: per revision, in order, its events
 * (src/kv/applier.ts). Reads at a revision inside a txn add them to what the db holds, so the answer
 * does not depend on how entries were batched.
 */
export type PendingVersions = ReadonlyArray<readonly [number, readonly WatchEvent[]]>;

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

/**
 * A Range page over the keyspace as of `revision` (same limit, count and `more` rules as readRange):
 * the db's versions, plus `pending` ones when called while a batch is being applied.
 */
export async function readRangeAt(
  db: Db,
  snapshot: DbSnapshot | undefined,
  op: RangeOp,
  revision: number,
  limits: Pick<KvLimits, 'rangeKvsMax' | 'rangePageBytesMax'>,
  pending: PendingVersions = [],
): Promise<Omit<RangeResult, 'revision'>> {
  const { range, after } = rangeBounds(op);
  const gte = after !== null && compareBytes(after, range.start) >= 0 ? versionsEnd(after) : versionBound(range.start);
  const lt = range.end === null ? Buffer.of(NS_VERSION + 1) : versionBound(range.end);
  const stored = versionsAt(db, snapshot, gte, lt, revision);
  const patch = pendingAt(pending, revision, range, after);
  return collectPage(patch.length === 0 ? stored : withPatch(stored, patch), op, limits);
}

interface Patch {
  readonly key: Uint8Array;
  /** null: deleted as of the revision. */
  readonly kv: KeyValue | null;
}

/** Each key's last pending change at or before `revision` within the range, in key order. */
function pendingAt(pending: PendingVersions, revision: number, range: KeyRange, after: Uint8Array | null): Patch[] {
  const byKey = new Map<string, Patch>();
  for (const [rev, events] of pending) {
    if (rev > revision) break;
    for (const e of events) {
      if (!inRange(e.kv.key, range) || (after !== null && compareBytes(e.kv.key, after) <= 0)) continue;
      byKey.set(overlayKey(e.kv.key), { key: e.kv.key, kv: e.type === EventType.Put ? e.kv : null });
    }
  }
  return [...byKey.values()].sort((a, b) => compareBytes(a.key, b.key));
}

/** Merges key-ordered `stored` kvs with key-ordered patches; a patch replaces or hides its key. */
async function* withPatch(stored: AsyncIterable<KeyValue>, patch: readonly Patch[]): AsyncGenerator<KeyValue> {
  let p = 0;
  for await (const kv of stored) {
    for (; p < patch.length && compareBytes(patch[p]!.key, kv.key) < 0; p++) {
      const before = patch[p]!.kv;
      if (before !== null) yield before;
    }
    const same = patch[p];
    if (same !== undefined && compareBytes(same.key, kv.key) === 0) {
      p++;
      if (same.kv !== null) yield same.kv;
      continue;
    }
    yield kv;
  }
  for (; p < patch.length; p++) {
    const rest = patch[p]!.kv;
    if (rest !== null) yield rest;
  }
}

/**
 * The live keys of [gte, lt) as of `revision`, in key order: the versions of one key are adjacent
 * and in revision order, so each key's last version at or before `revision` is the one to keep,
 * unless it is a delete (an empty record).
 */
async function* versionsAt(db: Db, snapshot: DbSnapshot | undefined, gte: Buffer, lt: Buffer, revision: number): AsyncGenerator<KeyValue> {
  const it = db.iterator({ gte, lt, ...(snapshot === undefined ? {} : { snapshot }) });
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
