/**
 * Reads and verifies the whole raft log store at open. Anything that does not verify — a checksum
 * mismatch, an undecodable record, a gap or a term going backwards, a commit index past the end of
 * the log — stops the load with a CorruptionError naming the directory and the index or record.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, CorruptionError } from '../common/errors.js';
import type { ConfState, Entry, HardState, SnapshotMeta } from '../raft/types.js';
import {
  decodeCompactionPoint,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMeta,
  ENTRY_KEY_END,
  ENTRY_KEY_MIN,
  entryKeyIndex,
  KEY_COMPACTION_POINT,
  KEY_CONF_STATE,
  KEY_HARD_STATE,
  KEY_SNAPSHOT_META,
  type CompactionPoint,
} from './log-codec.js';

export type LogBatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * What the log store needs of its database: the subset of abstract-level that classic-level
 * implements, so that a simulated disk (test/sim/node) can stand in for LevelDB.
 */
export interface LogDb {
  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]>;
  iterator(range: { gte: Buffer; lt: Buffer }): { nextv(size: number): Promise<[Buffer, Buffer][]>; close(): Promise<void> };
  batch(ops: LogBatchOp[], opts: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface LoadedLog {
  readonly hardState: HardState;
  readonly confState: ConfState;
  readonly snapshotMeta: SnapshotMeta;
  readonly point: CompactionPoint;
  readonly entries: Entry[];
}

export const EMPTY_CONF: ConfState = { voters: [], learners: [] };
/** Entries read from LevelDB per step at open (the abort signal is checked between steps). */
const LOAD_BATCH_ENTRIES = 1024;

export async function loadLog(db: LogDb, dir: string, signal: AbortSignal | undefined): Promise<LoadedLog> {
  const [h, c, d, s] = await db.getMany([KEY_HARD_STATE, KEY_CONF_STATE, KEY_COMPACTION_POINT, KEY_SNAPSHOT_META]);
  const hardState = h ? decodeRecord(dir, 'hard state', () => decodeHardState(h)) : { term: 0, vote: 0, commit: 0 };
  const confState = c ? decodeRecord(dir, 'conf state', () => decodeConfState(c)) : EMPTY_CONF;
  const point = d ? decodeRecord(dir, 'compaction point', () => decodeCompactionPoint(d)) : { index: 0, term: 0 };
  const snapshotMeta = s
    ? decodeRecord(dir, 'snapshot meta', () => decodeSnapshotMeta(s))
    : { index: 0, term: 0, conf: EMPTY_CONF };
  if (point.index > snapshotMeta.index) {
    throw corrupt(dir, `log compacted to index ${point.index}, past the latest snapshot at index ${snapshotMeta.index}`);
  }
  const entries = await loadEntries(db, dir, point, signal);
  const lastIndex = point.index + entries.length;
  if (hardState.commit > lastIndex) {
    throw corrupt(dir, `commit index ${hardState.commit} is past the last log index ${lastIndex}: entries are missing`);
  }
  return { hardState, confState, snapshotMeta, point, entries };
}

async function loadEntries(
  db: LogDb,
  dir: string,
  point: CompactionPoint,
  signal: AbortSignal | undefined,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  let prev: { index: number; term: number } = point;
  const it = db.iterator({ gte: ENTRY_KEY_MIN, lt: ENTRY_KEY_END });
  try {
    while (true) {
      throwIfAborted(signal, dir);
      // nextv: one promise per batch instead of one per entry (several times faster at open).
      const batch = await it.nextv(LOAD_BATCH_ENTRIES);
      if (batch.length === 0) break;
      for (const [key, value] of batch) {
        const e = verifyEntry(dir, key, value, prev);
        entries.push(e);
        prev = e;
      }
    }
  } catch (err) {
    if (err instanceof CorruptionError || err instanceof AbortedError) throw err;
    throw levelCorruption(dir, `while reading entries after index ${prev.index}`, err);
  } finally {
    await it.close();
  }
  return entries;
}

function verifyEntry(dir: string, key: Buffer, value: Buffer, prev: { index: number; term: number }): Entry {
  const index = entryKeyIndex(key);
  if (index < 0) throw corrupt(dir, `malformed entry key ${key.toString('hex')} after index ${prev.index}`);
  if (index !== prev.index + 1) {
    throw corrupt(dir, `entry index ${index} follows index ${prev.index}: the log has a gap or a stale entry`);
  }
  const e = decodeRecord(dir, `entry index ${index}`, () => decodeEntry(key, value));
  if (e.term < prev.term) throw corrupt(dir, `entry index ${index} has term ${e.term}, below term ${prev.term} before it`);
  return e;
}

function decodeRecord<T>(dir: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    throw corrupt(dir, `${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function corrupt(dir: string, detail: string): CorruptionError {
  return new CorruptionError(`raft log store ${dir}: ${detail}`);
}

/** Whether `code` (e.g. LEVEL_CORRUPTION, LEVEL_LOCKED) appears anywhere in err's cause chain. */
export function hasLevelCode(err: unknown, code: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

/** Wrap an error from LevelDB: a LEVEL_CORRUPTION anywhere in its cause chain is a CorruptionError. */
export function levelCorruption(dir: string, context: string, err: unknown): unknown {
  if (!hasLevelCode(err, 'LEVEL_CORRUPTION')) return err;
  const detail = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
  const c = corrupt(dir, `LevelDB reports corruption ${context}: ${detail}`);
  c.cause = err;
  return c;
}

export function throwIfAborted(signal: AbortSignal | undefined, dir: string): void {
  if (signal?.aborted) throw new AbortedError(`opening raft log store ${dir} aborted`, { cause: signal.reason });
}

/**
 * LevelDB recovers its write-ahead log without paranoid checks (classic-level offers no switch), so
 * a damaged record is dropped silently — with everything after it in the same 32 KiB block — and
 * only noted in the info log `<dir>/LOG` as "<file>: dropping N bytes; Corruption: ...". A dropped
 * tail leaves no gap to detect, so after open we read that note and stop on it.
 *
 * LevelDB has already rewritten the store without those records by then, and rotates LOG on the
 * next open, so the finding is made sticky in QUARANTINE_FILE: every later open refuses until an
 * operator who accepts the loss deletes that file.
 */
export async function checkRecoveryLog(dir: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dir, 'LOG'), 'utf8');
  } catch {
    return; // no info log: nothing was recovered
  }
  const line = text.split('\n').find((l) => /dropping \d+ bytes; Corruption/.test(l));
  if (line === undefined) return;
  const detail = `LevelDB dropped damaged write-ahead log records on recovery (${line.trim()})`;
  await writeFile(join(dir, QUARANTINE_FILE), `${detail}\n`, { flush: true });
  throw corrupt(dir, detail);
}

/** Present when an earlier open found corruption that LevelDB has since papered over. */
export const QUARANTINE_FILE = 'RAFTKV-CORRUPTION';

/** Refuse a store quarantined by an earlier open (see checkRecoveryLog). */
export async function checkQuarantine(dir: string): Promise<void> {
  let detail: string;
  try {
    detail = (await readFile(join(dir, QUARANTINE_FILE), 'utf8')).trim();
  } catch {
    return;
  }
  throw corrupt(dir, `quarantined by an earlier open (delete ${QUARANTINE_FILE} to accept the loss): ${detail}`);
}
