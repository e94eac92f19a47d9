import type { Db, DbSnapshot } from './db.js';
import { decodeStored } from './db.js';
import { NS_KEY, compareBytes, dataKey, inRange, userKey } from './keys.js';
import type { KeyRange } from './keys.js';
import type { KeyValue } from './types.js';

/** Uncommitted writes of the command being applied, keyed by hex key; null marks a delete. */
export type Overlay = Map<string, { readonly key: Uint8Array; readonly kv: KeyValue | null }>;

export function overlayKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

export interface ScanOptions {
  readonly range: KeyRange;
  /** Only keys strictly after this one. */
  readonly after: Uint8Array | null;
  readonly snapshot?: DbSnapshot;
}

/** Entries read from the db per step (nextv), balancing round trips against memory. */
const SCAN_STEP_ENTRIES = 256;

/**
 * User keys of `range` in order, merging the db with `overlay` (overlay wins; its deletes hide keys),
 * so that the later operations of a transaction see the earlier ones.
 */
export async function* scan(db: Db, overlay: Overlay, opts: ScanOptions): AsyncGenerator<KeyValue> {
  const pending = overlayIn(overlay, opts);
  let p = 0;
  const bounds = dbBounds(opts);
  const it = db.iterator({ ...bounds, ...(opts.snapshot === undefined ? {} : { snapshot: opts.snapshot }) });
  try {
    while (true) {
      const entries = await it.nextv(SCAN_STEP_ENTRIES);
      if (entries.length === 0) break;
      for (const [dbKey, stored] of entries) {
        const key = userKey(dbKey);
        for (; p < pending.length; p++) {
          const o = pending[p];
          if (o === undefined || compareBytes(o.key, key) >= 0) break;
          if (o.kv !== null) yield o.kv;
        }
        const same = pending[p];
        if (same !== undefined && compareBytes(same.key, key) === 0) {
          p++;
          if (same.kv !== null) yield same.kv;
          continue;
        }
        yield decodeStored(new Uint8Array(key), stored);
      }
    }
  } finally {
    await it.close();
  }
  for (; p < pending.length; p++) {
    const o = pending[p];
    if (o?.kv) yield o.kv;
  }
}

function overlayIn(overlay: Overlay, opts: ScanOptions): Array<{ key: Uint8Array; kv: KeyValue | null }> {
  const out = [];
  for (const o of overlay.values()) {
    if (!inRange(o.key, opts.range)) continue;
    if (opts.after !== null && compareBytes(o.key, opts.after) <= 0) continue;
    out.push(o);
  }
  return out.sort((a, b) => compareBytes(a.key, b.key));
}

/** Entries counted per step when only the number of keys matters. */
const COUNT_STEP_ENTRIES = 1024;

/** How many keys of the range there are (after `after`), read as keys only: no value is decoded. */
export async function countKeys(db: Db, opts: ScanOptions): Promise<number> {
  const it = db.keys({ ...dbBounds(opts), ...(opts.snapshot === undefined ? {} : { snapshot: opts.snapshot }) });
  let count = 0;
  try {
    for (;;) {
      const step = await it.nextv(COUNT_STEP_ENTRIES);
      if (step.length === 0) return count;
      count += step.length;
    }
  } finally {
    await it.close();
  }
}

function dbBounds(opts: ScanOptions): { gte?: Buffer; gt?: Buffer; lt: Buffer } {
  const lt = opts.range.end === null ? Buffer.of(NS_KEY + 1) : dataKey(opts.range.end);
  const start = dataKey(opts.range.start);
  if (opts.after !== null && compareBytes(opts.after, opts.range.start) >= 0) return { gt: dataKey(opts.after), lt };
  return { gte: start, lt };
}
