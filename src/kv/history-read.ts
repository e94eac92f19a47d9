import { CorruptionError } from '../common/errors.js';
import type { Db, DbSnapshot } from './db.js';
import { decodeStored } from './db.js';
import { decodeHistoryRecord, historyBound, historyRevision, versionKey } from './mvcc-keys.js';
import type { HistoryRecord } from './mvcc-keys.js';
import { EventType, type KeyValue, type WatchEvent } from './types.js';

/** History records read from the db per step (nextv). */
const HISTORY_STEP_ENTRIES = 256;
const EMPTY: Uint8Array = new Uint8Array(0);

export interface HistoryReadLimits {
  /** Stop at the first revision boundary once this many matching events were collected. */
  readonly eventsMax: number;
  /** ... or once this many records were looked at (a watch on a rare key must not scan forever). */
  readonly scannedMax: number;
}

/**
 * Events of revisions [from, to] whose key matches, from the persisted history, in revision order and
 * always whole revisions. `next` is the first revision not read (to + 1 when everything was read).
 */
export async function readHistory(
  db: Db,
  snapshot: DbSnapshot,
  from: number,
  to: number,
  matchKey: (key: Uint8Array) => boolean,
  limits: HistoryReadLimits,
): Promise<{ events: WatchEvent[]; next: number }> {
  const picked: Array<[number, HistoryRecord]> = [];
  let next = to + 1;
  let scanned = 0;
  let done = false;
  const it = db.iterator({ gte: historyBound(from), lt: historyBound(to + 1), snapshot });
  try {
    let current = from;
    while (!done) {
      const entries = await it.nextv(HISTORY_STEP_ENTRIES);
      if (entries.length === 0) break;
      for (const [dbKey, value] of entries) {
        const revision = historyRevision(dbKey);
        if (revision !== current) {
          // A revision boundary: the only place to stop, so revisions are never split.
          if (picked.length >= limits.eventsMax || scanned >= limits.scannedMax) {
            next = revision;
            done = true;
            break;
          }
          current = revision;
        }
        scanned++;
        const record = decodeHistoryRecord(value);
        if (record !== null && matchKey(record.key)) picked.push([revision, record]);
      }
    }
  } finally {
    await it.close();
  }
  return { events: await toEvents(db, snapshot, picked), next };
}

/** Looks up each change's KeyValue and previous version (null once compacted away). */
async function toEvents(db: Db, snapshot: DbSnapshot, picked: ReadonlyArray<[number, HistoryRecord]>): Promise<WatchEvent[]> {
  if (picked.length === 0) return [];
  const keys: Buffer[] = [];
  for (const [revision, r] of picked) keys.push(versionKey(r.key, revision), versionKey(r.key, r.prevModRevision));
  const values = await db.getMany(keys, { snapshot });
  return picked.map(([revision, r], i) => {
    const stored = values[2 * i];
    const prevStored = r.prevModRevision > 0 ? values[2 * i + 1] : undefined;
    const prevKv = prevStored === undefined || prevStored.length === 0 ? null : decodeStored(r.key, prevStored);
    let kv: KeyValue = { key: r.key, value: EMPTY, createRevision: 0, modRevision: revision, version: 0 };
    if (r.type === EventType.Put) {
      // Compaction keeps every version at or after the compacted revision, so it must be here.
      if (stored === undefined || stored.length === 0) throw new CorruptionError(`kv db ${db.location} has no version at revision ${revision} for a put in its history`);
      kv = decodeStored(r.key, stored);
    }
    return { type: r.type, kv, prevModRevision: r.prevModRevision, prevKv };
  });
}
