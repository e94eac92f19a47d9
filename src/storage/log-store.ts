/**
 * DiskStorage: the durable raft log, hard state and conf state of one node, in classic-level at
 * `<raft_data_dir>/<raft_id>/raft`, served to the raft core through the synchronous `Storage`
 * interface from an in-memory copy of the live log tail.
 *
 * Reads are synchronous and see only what is durable: every write is one LevelDB batch, and the
 * in-memory view changes only after that batch resolved. Writes are serialized in call order.
 * Snapshot *data* lives in FileSnapshotStore; this store keeps the snapshot's meta only.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { assert } from '../common/assert.js';
import { writeChained } from '../common/level-batch.js';
import { OverloadedError, StoppedError } from '../common/errors.js';
import type { ConfState, Entry, HardState, Snapshot, SnapshotMeta } from '../raft/types.js';
import type { Storage } from '../raft/storage.js';
import { StorageFailedError, StoreLockedError } from './errors.js';
import {
  encodeCompactionPoint,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMeta,
  entryKey,
  KEY_COMPACTION_POINT,
  KEY_CONF_STATE,
  KEY_HARD_STATE,
  KEY_SNAPSHOT_META,
} from './log-codec.js';
import { checkQuarantine, checkRecoveryLog, hasLevelCode, levelCorruption, loadLog, throwIfAborted, type LoadedLog, type LogBatchOp, type LogDb } from './log-load.js';
import { LogTail, type LogErrorFactory } from './log-tail.js';

/** classic-level as the log's LogDb, each batch written through a chained batch (src/common/level-batch.ts). */
function chainedWrites(db: ClassicLevel<Buffer, Buffer>): LogDb {
  return {
    getMany: (keys) => db.getMany(keys),
    iterator: (range) => db.iterator(range),
    close: () => db.close(),
    batch: (ops, opts) => writeChained(db.batch(), ops, { sync: opts.sync }),
  };
}

/** Writes waiting behind the one in progress; beyond this a write is rejected (OverloadedError). */
export const LOG_PENDING_WRITES_MAX = 64;

const EMPTY_DATA = new Uint8Array(0);

/** What one Ready asks to persist; fields may be passed straight from `Ready`. */
export interface LogUpdate {
  /** A received snapshot being installed: the whole log is dropped and restarts after it. */
  readonly snapshotMeta?: SnapshotMeta | null;
  /** Entries to append; an entry at an existing index replaces it and everything after. */
  readonly entries?: readonly Entry[] | undefined;
  readonly hardState?: HardState | null;
}

export interface DiskStorageOptions {
  readonly signal?: AbortSignal | undefined;
  /**
   * Constructors of the core's CompactedError/UnavailableError (src/raft/storage.ts), which the
   * core matches with `instanceof`. Pass `{ compacted: (i, f) => new CompactedError(i, f),
   * unavailable: (i, l) => new UnavailableError(i, l) }` from the node layer.
   */
  readonly errors?: LogErrorFactory | undefined;
}

export interface WriteOptions {
  /** fsync the batch (Ready.mustSync). Defaults to true. */
  readonly sync?: boolean | undefined;
}

type BatchOp = LogBatchOp;

export class DiskStorage implements Storage {
  private hardState: HardState;
  /** The configuration the driver last applied (setConfState); informational, see initialState. */
  private appliedConf: ConfState;
  private snapMeta: SnapshotMeta;
  private readonly tail: LogTail;
  private writeChain: Promise<void> = Promise.resolve();
  private pendingWrites = 0;
  private failure: StorageFailedError | null = null;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly db: LogDb,
    loaded: LoadedLog,
    errors: LogErrorFactory | undefined,
  ) {
    this.hardState = loaded.hardState;
    this.appliedConf = loaded.confState;
    this.snapMeta = loaded.snapshotMeta;
    this.tail = new LogTail(loaded.point, loaded.entries, errors);
  }

  /**
   * Open (creating if missing) the store at `dir`, then load and verify everything in it.
   * Throws CorruptionError (naming `dir` and the index or record) if anything fails verification,
   * AbortedError if `signal` fires first.
   */
  static async open(dir: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
    throwIfAborted(opts.signal, dir);
    await mkdir(dir, { recursive: true });
    await checkQuarantine(dir);
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      if (hasLevelCode(err, 'LEVEL_LOCKED')) throw new StoreLockedError(dir, err);
      throw levelCorruption(dir, 'while opening', err);
    }
    try {
      await checkRecoveryLog(dir);
    } catch (err) {
      await db.close();
      throw err;
    }
    return DiskStorage.openOn(chainedWrites(db), dir, opts);
  }

  /**
   * Load and verify the store in an already open database (`name` appears in errors). The whole-node
   * simulation opens its simulated disk this way; open() is this plus LevelDB's files and checks.
   */
  static async openOn(db: LogDb, name: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
    try {
      return new DiskStorage(name, db, await loadLog(db, name, opts.signal), opts.errors);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  // ---- Storage (synchronous, for the raft core) ----

  /**
   * The conf state is the latest snapshot's, as in MemoryStorage: a restarted core re-applies every
   * entry after the snapshot, conf changes included, so it must start from the snapshot's view.
   */
  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snapMeta.conf };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.tail.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.tail.term(index);
  }

  firstIndex(): number {
    return this.tail.firstIndex();
  }

  lastIndex(): number {
    return this.tail.lastIndex();
  }

  /** The latest snapshot's meta with empty `data`: the data is a file in FileSnapshotStore. */
  snapshot(): Snapshot {
    return { meta: this.snapMeta, data: EMPTY_DATA };
  }

  /** Payload bytes (+24 per entry) of the log tail held in memory; compaction lowers it. */
  liveLogBytes(): number {
    return this.tail.sizeBytes();
  }

  // ---- Writes (asynchronous, for the driver) ----

  /**
   * Persist one Ready as ONE LevelDB batch: snapshot meta (dropping the log), entries (deleting
   * any conflicting suffix) and hard state. A snapshot no newer than the current one is ignored,
   * as are entries at or below the compaction point. Appending past lastIndex + 1 is a bug (throws).
   */
  persist(update: LogUpdate, opts: WriteOptions = {}): Promise<void> {
    return this.enqueue(async () => {
      const ops: BatchOp[] = [];
      const snap = update.snapshotMeta && update.snapshotMeta.index > this.snapMeta.index ? update.snapshotMeta : null;
      if (snap) this.planSnapshot(snap, ops);
      const base = snap ? { first: snap.index + 1, last: snap.index } : { first: this.firstIndex(), last: this.lastIndex() };
      const ents = planEntries(update.entries ?? [], base, ops);
      if (update.hardState) ops.push(put(KEY_HARD_STATE, encodeHardState(update.hardState)));
      if (ops.length === 0) return;
      await this.write(ops, opts.sync ?? true);
      if (snap) {
        this.snapMeta = snap;
        this.appliedConf = snap.conf;
        this.tail.reset({ index: snap.index, term: snap.term });
      }
      this.tail.truncateAndAppend(ents);
      if (update.hardState) this.hardState = update.hardState;
    });
  }

  /** Install a received snapshot's meta: drop the whole log; conf state becomes the snapshot's. */
  applySnapshotMeta(meta: SnapshotMeta, opts: WriteOptions = {}): Promise<void> {
    return this.persist({ snapshotMeta: meta }, opts);
  }

  /**
   * Record a snapshot taken locally at `meta.index` (which must be in the log, with that term).
   * The log is kept; compaction up to this index becomes allowed. An older or equal one is ignored.
   */
  recordSnapshot(meta: SnapshotMeta): Promise<void> {
    return this.enqueue(async () => {
      if (meta.index <= this.snapMeta.index) return;
      assert(meta.term === this.term(meta.index), () => `snapshot term ${meta.term} != log term at ${meta.index}`);
      await this.write([put(KEY_SNAPSHOT_META, encodeSnapshotMeta(meta))], true);
      this.snapMeta = meta;
    });
  }

  /**
   * Discard entries up to and including `index`, which becomes the dummy entry at firstIndex - 1.
   * `index` may not pass the latest snapshot (so every discarded entry is covered by one).
   */
  compact(index: number): Promise<void> {
    return this.enqueue(async () => {
      const point = this.tail.compactionPoint();
      if (index <= point.index) return;
      assert(index <= this.snapMeta.index, () => `compact to ${index} past the latest snapshot ${this.snapMeta.index}`);
      assert(index <= this.lastIndex(), () => `compact to ${index} past the last index ${this.lastIndex()}`);
      const ops: BatchOp[] = [];
      for (let i = point.index + 1; i <= index; i++) ops.push(del(entryKey(i)));
      ops.push(put(KEY_COMPACTION_POINT, encodeCompactionPoint({ index, term: this.term(index) })));
      await this.write(ops, true);
      this.tail.compactTo(index);
    });
  }

  /**
   * Persist the configuration the driver has applied (for status and tools before the core has
   * replayed the log). The core does not read it: `initialState()` answers the snapshot's conf.
   */
  setConfState(conf: ConfState): Promise<void> {
    return this.enqueue(async () => {
      await this.write([put(KEY_CONF_STATE, encodeConfState(conf))], true);
      this.appliedConf = conf;
    });
  }

  /** The configuration last given to setConfState, or the installed snapshot's if that came later. */
  appliedConfState(): ConfState {
    return this.appliedConf;
  }

  /** Wait for queued writes, then close the database. Later writes reject with StoppedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    await this.db.close();
  }

  // ---- internals ----

  /** Drop every entry key and move the compaction point and conf state to the snapshot. */
  private planSnapshot(snap: SnapshotMeta, ops: BatchOp[]): void {
    for (let i = this.firstIndex(); i <= this.lastIndex(); i++) ops.push(del(entryKey(i)));
    ops.push(put(KEY_SNAPSHOT_META, encodeSnapshotMeta(snap)));
    ops.push(put(KEY_COMPACTION_POINT, encodeCompactionPoint({ index: snap.index, term: snap.term })));
    ops.push(put(KEY_CONF_STATE, encodeConfState(snap.conf)));
  }

  /** Run write jobs one at a time in call order; a failed write poisons the store. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StoppedError(`raft log store ${this.dir}`));
    if (this.failure) return Promise.reject(this.failure);
    if (this.pendingWrites >= LOG_PENDING_WRITES_MAX) {
      return Promise.reject(new OverloadedError('raft log write queue', LOG_PENDING_WRITES_MAX));
    }
    this.pendingWrites++;
    const run = this.writeChain.then(() => {
      if (this.failure) throw this.failure;
      return job();
    });
    this.writeChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.pendingWrites--;
    });
  }

  private async write(ops: BatchOp[], sync: boolean): Promise<void> {
    try {
      await this.db.batch(ops, { sync });
    } catch (err) {
      this.failure = new StorageFailedError(this.dir, err);
      throw this.failure;
    }
  }
}

/**
 * Plan an append onto the log [base.first, base.last]: skip entries at or below the compaction
 * point, delete keys past the new end, put the rest. Returns the entries the tail must append.
 */
function planEntries(entries: readonly Entry[], base: { first: number; last: number }, ops: BatchOp[]): readonly Entry[] {
  if (entries.length === 0) return entries;
  for (let i = 1; i < entries.length; i++) {
    assert(entries[i]!.index === entries[0]!.index + i, 'entries to persist are not contiguous');
  }
  const ents = entries[0]!.index < base.first ? entries.slice(base.first - entries[0]!.index) : entries;
  if (ents.length === 0) return ents;
  const first = ents[0]!.index;
  assert(first <= base.last + 1, () => `missing log entry: have up to ${base.last}, got ${first}`);
  const newLast = first + ents.length - 1;
  for (let i = newLast + 1; i <= base.last; i++) ops.push(del(entryKey(i)));
  for (const e of ents) ops.push(put(entryKey(e.index), encodeEntry(e)));
  return ents;
}

function put(key: Buffer, value: Buffer): BatchOp {
  return { type: 'put', key, value };
}

function del(key: Buffer): BatchOp {
  return { type: 'del', key };
}
