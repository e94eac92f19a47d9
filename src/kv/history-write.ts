import type { DbOp } from './db.js';
import { encodeStored } from './db.js';
import { encodeHistoryRecord, historyKey, versionKey } from './mvcc-keys.js';
import { EventType, type WatchEvent } from './types.js';

const EMPTY = Buffer.alloc(0);

/**
 * The multi-version records of applied revisions: each change becomes a version of its key (a put's
 * KeyValue, or an empty record for a delete) and a history record of its revision, in event order.
 */
export function historyWrites(published: ReadonlyArray<readonly [number, readonly WatchEvent[]]>): DbOp[] {
  const ops: DbOp[] = [];
  for (const [revision, events] of published) {
    events.forEach((e, n) => {
      const value = e.type === EventType.Put ? encodeStored(e.kv) : EMPTY;
      ops.push({ type: 'put', key: versionKey(e.kv.key, revision), value });
      ops.push({ type: 'put', key: historyKey(revision, n), value: encodeHistoryRecord({ type: e.type, prevModRevision: e.prevModRevision, key: e.kv.key }) });
    });
  }
  return ops;
}
