import type { Db, DbOp } from './db.js';
import { NS_HISTORY, NS_VERSION, historyBound, versionBound, versionRevision } from './mvcc-keys.js';

/** A version record's db key ends with 0x00 0x01 + u64 revision after the escaped user key. */
const VERSION_SUFFIX_BYTES = 10;

/**
 * Where a physical compaction stands: it removes what compaction at `target` made unreachable, the
 * history records below it first, then the version records key by key. `after` is the last record
 * looked at (a history key in the first phase, a version key in the second), so no step walks over
 * what earlier steps deleted (LevelDB still has to skip deleted records until it compacts its files).
 */
export interface CompactionCursor {
  readonly target: number;
  /** null: nothing looked at yet. */
  readonly after: Buffer | null;
}

export interface CompactionStep {
  readonly deletes: DbOp[];
  /** null: the compaction at `target` is complete. */
  readonly cursor: CompactionCursor | null;
}

/**
 * One bounded step (at most `entriesMax` records read) of the physical compaction at cursor.target:
 * history records of revisions < target go (watches may start at target, not before), and of every
 * key's versions at or below target only the last stays, unless that is a delete.
 */
export async function compactStep(db: Db, cursor: CompactionCursor, entriesMax: number): Promise<CompactionStep> {
  const { target, after } = cursor;
  if (after === null || after[0] === NS_HISTORY) {
    const from = after === null ? { gte: historyBound(0) } : { gt: after };
    const old = await db.keys({ ...from, lt: historyBound(target), limit: entriesMax }).all();
    const last = old[old.length - 1];
    if (last !== undefined) return { deletes: old.map((key) => ({ type: 'del', key })), cursor: { target, after: last } };
    return compactVersions(db, target, { gte: versionBound(new Uint8Array(0)) }, entriesMax);
  }
  return compactVersions(db, target, { gt: after }, entriesMax);
}

async function compactVersions(db: Db, target: number, from: { gte: Buffer } | { gt: Buffer }, entriesMax: number): Promise<CompactionStep> {
  // One record more than we decide on: whether a version is the key's last at or below the target
  // depends on the record after it.
  const entries = await db.iterator({ ...from, lt: Buffer.of(NS_VERSION + 1), limit: entriesMax + 1 }).all();
  const exhausted = entries.length <= entriesMax;
  const decide = exhausted ? entries.length : entriesMax;
  const deletes: DbOp[] = [];
  for (let i = 0; i < decide; i++) {
    const [key, value] = entries[i]!;
    if (revisionOf(key) > target) continue;
    const following = entries[i + 1];
    const superseded = following !== undefined && sameKey(key, following[0]) && revisionOf(following[0]) <= target;
    if (superseded || value.length === 0) deletes.push({ type: 'del', key });
  }
  const last = entries[decide - 1];
  return { deletes, cursor: exhausted || last === undefined ? null : { target, after: last[0] } };
}

const revisionOf = versionRevision;

function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.subarray(0, a.length - VERSION_SUFFIX_BYTES).equals(b.subarray(0, b.length - VERSION_SUFFIX_BYTES));
}

/** The persisted form of a cursor: u64 target, then the last version key looked at (if any). */
export function encodeCursor(c: CompactionCursor): Buffer {
  const out = Buffer.allocUnsafe(8 + (c.after?.length ?? 0));
  out.writeBigUInt64BE(BigInt(c.target));
  c.after?.copy(out, 8);
  return out;
}

export function decodeCursor(b: Buffer | undefined): CompactionCursor | null {
  if (b === undefined || b.length < 8) return null;
  return { target: Number(b.readBigUInt64BE(0)), after: b.length > 8 ? Buffer.from(b.subarray(8)) : null };
}
