import type { Readable } from 'node:stream';
import { assert } from '../common/assert.js';
import { asError, CorruptionError, StoppedError } from '../common/errors.js';
import type { Db, DbOp, DbSnapshot } from './db.js';
import { decodeStored, readU64, u64, writeBatch } from './db.js';
import { DedupeTable } from './dedupe.js';
import { nextDbName } from './dirs.js';
import { FsKvDisk, type KvDisk } from './disk.js';
import { FutureRevisionError, RevisionCompactedError, WatchAbandonedError } from './errors.js';
import { readRange } from './execute.js';
import { BatchApplier, type AppliedBatch } from './applier.js';
import { decodeCursor, type CompactionCursor } from './compaction.js';
import { Compactor } from './compactor.js';
import { readHistory } from './history-read.js';
import {
  FORMAT_VERSION,
  FORMAT_VERSION_LATEST_ONLY,
  META_APPLIED,
  META_COMPACTED,
  META_COMPACTING,
  META_FORMAT,
  META_KEYS,
  META_REVISION,
  attachBounds,
  dataKey,
} from './keys.js';
import { loadLeases, type LeaseChange } from './leases.js';
import type { KvLimits } from './limits.js';
import { defaultKvLimits } from './limits.js';
import { SerialQueue } from './serial.js';
import type { AuthState } from '../auth/state.js';
import { loadAuth, type AuthChange } from './auth-section.js';
import { decodeSnapshot, encodeSnapshot, zlibCompression, type SnapshotCompression } from './snapshot-format.js';
import type { CommandResult, KeyValue, LeaseRecord, RangeOp, RangeResult } from './types.js';
import { getAt, readRangeAt } from './revision-read.js';
import { upgradeLatestOnly } from './upgrade.js';
import { validateKey, validateRange } from './validate.js';
import { WatchHub } from './watcher.js';
import type { PersistedHistory, WatchOptions, Watcher } from './watcher.js';

/** Points where a restore can be interrupted; a test hook that throws there simulates a crash. */
export type RestoreStep = 'written' | 'pointer-swapped' | 'old-closed';

export interface KvStoreOptions {
  /** `<raft_data_dir>/<raft_id>/kv` (see kvDir()): classic-level databases in that directory. */
  readonly dir?: string;
  /** Or any other disk (the simulation's); exactly one of `dir` and `disk`. */
  readonly disk?: KvDisk;
  readonly limits?: Partial<KvLimits>;
  /** The snapshot stream's gzip codec (default node:zlib; the simulation's is synchronous). */
  readonly compression?: SnapshotCompression;
  readonly testHooks?: { readonly onRestoreStep?: (step: RestoreStep) => void };
}

export interface KvStats {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly keys: number;
  readonly watchers: number;
  readonly historyEvents: number;
  /** The oldest revision a watch can start from. */
  readonly watchFloorRevision: number;
  readonly dedupeClients: number;
  /** Reads and watches before this revision are refused (0: nothing compacted yet). */
  readonly compactRevision: number;
  /** A physical compaction is still reclaiming space below compactRevision. */
  readonly compacting: boolean;
}

/** Jobs (apply, snapshot, restore, close) that may wait for the store at once. */
const JOBS_PENDING_MAX = 1024;
/** Entries read from the db per step while streaming a snapshot. */
const SNAPSHOT_STEP_ENTRIES = 256;

/**
 * The replicated state machine. `apply` executes committed raft entries in order; the data, the
 * applied index, the revision and the dedupe table change in one batch, so after a crash the store is
 * exactly as of `appliedIndex()` and the raft log replays the rest. No sync: the raft log is durable.
 * Every version of every key is kept until a Compact command (src/kv/mvcc-keys.ts), so reads may
 * name a past revision and watches may start in the past, also after a restart.
 */
export class KvStore {
  private readonly serial = new SerialQueue(JOBS_PENDING_MAX);
  /** The last db write issued (applies and no-ops); reads start after it. */
  private landing: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;
  /** Reads in flight on the active db: a restore waits for them before closing the db they use. */
  private reads = new Set<Promise<unknown>>();
  private readonly hub: WatchHub;
  private readonly compactor: Compactor;

  private constructor(
    private readonly disk: KvDisk,
    private readonly compression: SnapshotCompression,
    private readonly limits: KvLimits,
    private readonly hooks: KvStoreOptions['testHooks'],
    private activeName: string,
    private db: Db,
    private applied: number,
    private rev: number,
    private keys: number,
    private dedupe: DedupeTable,
    private leaseMap: Map<number, LeaseRecord>,
    private authState: AuthState,
    state: Pick<LoadedState, 'compacted' | 'compacting'>,
  ) {
    const host = {
      run: <T>(job: () => Promise<T>): Promise<T> => this.serial.run(job),
      db: (): Db | null => (this.closed || this.failure !== null ? null : this.db),
      fail: (e: unknown): void => void (this.failure = asError(e)),
    };
    this.compactor = new Compactor(host, limits.compactionStepEntries, limits.compactionWaitersMax, state.compacted, state.compacting);
    const persisted: PersistedHistory = {
      compactRevision: () => this.compactor.revision,
      read: (from, to, matchKey, readLimits) => this.readPersisted((db, snapshot) => readHistory(db, snapshot, from, to, matchKey, readLimits)),
    };
    this.hub = new WatchHub(limits, rev, persisted);
  }

  private readonly authListeners = new Set<(change: AuthChange) => void>();

  private readonly leaseListeners = new Set<(change: LeaseChange) => void>();

  static async open(opts: KvStoreOptions): Promise<KvStore> {
    const limits = { ...defaultKvLimits, ...opts.limits };
    const disk = opts.disk ?? (opts.dir !== undefined ? new FsKvDisk(opts.dir) : null);
    if (disk === null || (opts.disk !== undefined && opts.dir !== undefined)) throw new TypeError('KvStore.open needs exactly one of dir and disk');
    const activeName = await disk.prepare();
    const db = await disk.open(activeName);
    try {
      const state = await loadState(db, limits);
      const store = new KvStore(disk, opts.compression ?? zlibCompression, limits, opts.testHooks, activeName, db, state.applied, state.revision, state.keys, state.dedupe, state.leases, state.auth, state);
      store.compactor.kick(); // a compaction a crash or a restart interrupted resumes
      return store;
    } catch (e) {
      await db.close();
      throw e;
    }
  }

  appliedIndex(): number {
    return this.applied;
  }

  revision(): number {
    return this.rev;
  }

  stats(): KvStats {
    return {
      appliedIndex: this.applied,
      revision: this.rev,
      keys: this.keys,
      watchers: this.hub.watcherCount,
      historyEvents: this.hub.history.size,
      watchFloorRevision: Math.max(1, this.compactor.revision),
      dedupeClients: this.dedupe.size,
      compactRevision: this.compactor.revision,
      compacting: this.compactor.busy,
    };
  }

  /** Applies the committed Normal entry `index` (> appliedIndex). Invalid commands yield `invalid`. */
  async apply(index: number, data: Uint8Array): Promise<CommandResult> {
    const [result] = await this.applyBatch([{ index, data }]);
    assert(result !== undefined, 'one result per entry');
    return result;
  }

  /**
   * Applies committed entries in order (increasing indexes, gaps allowed) as ONE db write; the
   * results and the state equal those of applying them one by one. An entry with empty data yields
   * an `invalid` result and only advances the applied index (prefer applyNoop for those).
   */
  applyBatch(entries: ReadonlyArray<{ readonly index: number; readonly data: Uint8Array }>): Promise<CommandResult[]> {
    let releaseEarly: (results: CommandResult[]) => void = () => undefined;
    const early = new Promise<CommandResult[]>((resolve) => (releaseEarly = resolve));
    const done = this.serial.run(async () => {
      this.checkUsable();
      const applier = new BatchApplier({ db: this.db, revision: this.rev, keys: this.keys, dedupe: this.dedupe, limits: this.limits, leases: this.leaseMap, auth: this.authState, compactRevision: this.compactor.revision });
      const results: CommandResult[] = [];
      let last = this.applied;
      for (const { index } of entries) {
        this.checkIndex(index, last);
        last = index;
      }
      try {
        for (const { index, data } of entries) results.push(await applier.add(index, data));
      } catch (e) {
        this.failure = asError(e); // the dedupe table may have run ahead of the db: refuse further work
        throw e;
      }
      if (last === this.applied) return results;
      const batch = applier.finish();
      this.compactor.kick(); // after a queue-full stop, the next apply resumes the compaction
      const landed = this.commit(last, batch.ops, batch.revision, batch.keys);
      if (onlyKeysChanged(batch, this.compactor.revision)) releaseEarly(results);
      await landed;
      const leaseChanges = batch.leases.commitTo(this.leaseMap);
      this.authState = batch.auth.result();
      if (batch.compactRevision !== this.compactor.revision) this.compactor.advanced(batch.compactRevision);
      for (const [revision, events] of batch.published) this.hub.publish(revision, events);
      for (const change of leaseChanges) this.announce(change);
      for (const change of batch.auth.changes) this.announceAuth(change);
      return results;
    });
    return Promise.race([done, early]);
  }

  /** Advances the applied index over an entry without a command (leader no-op, conf change). */
  applyNoop(index: number): Promise<void> {
    return this.serial.run(async () => {
      this.checkUsable();
      this.checkIndex(index, this.applied);
      await this.commit(index, [], this.rev, this.keys);
    });
  }

  private checkIndex(index: number, after: number): void {
    assert(Number.isSafeInteger(index) && index > after, () => `apply index ${index} is not after applied index ${after}`);
  }

  private checkUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new StoppedError('kv store');
  }

  /**
   * One batch: the command's writes plus the metadata. The applied index, revision and key count
   * move when the write is issued, and `landing` holds the write: every read of the db waits for it
   * first, so a caller told a result early never reads an older state.
   */
  private commit(index: number, ops: DbOp[], revision: number, keys: number): Promise<void> {
    const batch: DbOp[] = [...ops, { type: 'put', key: META_APPLIED, value: u64(index) }];
    if (revision !== this.rev) batch.push({ type: 'put', key: META_REVISION, value: u64(revision) });
    if (keys !== this.keys) batch.push({ type: 'put', key: META_KEYS, value: u64(keys) });
    const write = writeBatch(this.db, batch).catch((e: unknown) => {
      this.failure = asError(e); // memory and disk may now disagree: refuse further work
      throw e;
    });
    this.landing = write.catch(() => undefined);
    this.applied = index;
    this.rev = revision;
    this.keys = keys;
    return write;
  }

  // ---- leases ----

  /** Every lease, in id order. Expiry is not state-machine state: the leader's lessor times them. */
  leases(): LeaseRecord[] {
    return [...this.leaseMap.values()].sort((a, b) => a.id - b.id);
  }

  lease(id: number): LeaseRecord | null {
    return this.leaseMap.get(id) ?? null;
  }

  /** The keys attached to lease `id` (empty for an unknown lease). */
  async leaseKeys(id: number): Promise<Uint8Array[]> {
    this.checkUsable();
    const db = this.db;
    const landing = this.landing;
    return this.track((async () => {
      await landing;
      const out: Uint8Array[] = [];
      for await (const k of db.keys(attachBounds(id))) out.push(k.subarray(9));
      return out;
    })());
  }

  /** Calls `listener` after every applied lease grant or revoke and after a restore; returns unsubscribe. */
  onLeaseChange(listener: (change: LeaseChange) => void): () => void {
    this.leaseListeners.add(listener);
    return () => this.leaseListeners.delete(listener);
  }

  private announce(change: LeaseChange): void {
    for (const l of this.leaseListeners) l(change);
  }

  // ---- auth ----

  /** The auth state as of the applied index (treat as read-only: it is replaced, never changed in place). */
  auth(): AuthState {
    return this.authState;
  }

  /** Calls `listener` after every applied auth change and after a restore; returns unsubscribe. */
  onAuthChange(listener: (change: AuthChange) => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  private announceAuth(change: AuthChange): void {
    for (const l of this.authListeners) l(change);
  }

  // ---- reads (served locally; the service decides how fresh they must be) ----

  /**
   * The key as of `atRevision` (absent or 0: the current revision); `revision` is the current one.
   * Throws RevisionCompactedError before the compacted revision and FutureRevisionError after the
   * current one.
   */
  async get(key: Uint8Array, atRevision = 0): Promise<{ kv: KeyValue | null; revision: number }> {
    validateKey(key);
    return this.readPersisted(async (db, snapshot) => {
      // Point reads of the snapshot with getSync: no thread-pool round trip (a LevelDB read of a
      // cached block is microseconds; the async form cost several times that in promise and
      // thread-pool overhead on every get).
      const opts = { snapshot };
      const revision = readU64(db.getSync(META_REVISION, opts));
      const at = readRevision(atRevision, revision, readU64(db.getSync(META_COMPACTED, opts)));
      const stored = at === revision ? db.getSync(dataKey(key), opts) : undefined;
      if (at === revision) return { kv: stored === undefined ? null : decodeStored(key, stored), revision };
      return { kv: await getAt(db, snapshot, key, at), revision };
    });
  }

  /** A range page as of `atRevision` (absent or 0: the current revision), with get()'s errors. */
  async range(op: RangeOp, atRevision = 0): Promise<RangeResult> {
    validateRange(op);
    return this.readPersisted(async (db, snapshot) => {
      const opts = { snapshot };
      const revision = readU64(db.getSync(META_REVISION, opts));
      const at = readRevision(atRevision, revision, readU64(db.getSync(META_COMPACTED, opts)));
      const page = at === revision ? await readRange(db, new Map(), op, this.limits, snapshot) : await readRangeAt(db, snapshot, op, at, this.limits);
      return { ...page, revision };
    });
  }

  /** Runs `read` on a snapshot of the active db; a restore waits for it before closing that db. */
  private readPersisted<T>(read: (db: Db, snapshot: DbSnapshot) => Promise<T>): Promise<T> {
    this.checkUsable();
    const db = this.db;
    const landing = this.landing;
    return this.track((async () => {
      await landing;
      this.checkUsable(); // the write it waited for may have failed
      const snapshot = db.snapshot();
      try {
        return await read(db, snapshot);
      } finally {
        await snapshot.close();
      }
    })());
  }

  /**
   * etcd's Defragment for LevelDB: compacts the whole key space (classic-level's compactRange), which
   * drops the tombstones of deleted, overwritten and MVCC-compacted records and merges tables. Runs
   * beside applies (LevelDB compacts concurrently); a restore waits for it before closing the db.
   */
  defragment(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.checkUsable();
    const db = this.db;
    // Every namespace's keys start with a letter (src/kv/keys.ts), so this range holds them all.
    return this.track(db.compactRange(Buffer.from([0x00]), Buffer.from([0xff, 0xff, 0xff, 0xff])));
  }

  private track<T>(read: Promise<T>): Promise<T> {
    const reads = this.reads;
    reads.add(read);
    return read.finally(() => reads.delete(read));
  }

  /**
   * Events for a key or prefix from `startRevision`, in revision order without gaps, as batches.
   * Ends by throwing WatchCompactedError (a start before the compacted revision, or compacted while
   * the watcher caught up), WatchAbandonedError (restore), AbortedError (signal) or StoppedError (close).
   */
  watch(opts: WatchOptions): Watcher {
    this.checkUsable();
    // "From now" is after the last revision a caller may have been told of, which can be ahead of
    // the hub's while its write lands (the hub skips revisions before a watcher's start).
    const now = opts.startRevision === undefined || opts.startRevision === 0;
    return this.hub.watch(now ? { ...opts, startRevision: this.rev + 1 } : opts);
  }

  // ---- compaction ----

  /**
   * Resolves once this store has physically reclaimed everything a Compact at `revision` made
   * unreachable (etcd's Compact with physical); waits for that Compact to be applied here first.
   */
  waitCompacted(revision: number, signal?: AbortSignal): Promise<void> {
    this.checkUsable();
    return this.compactor.wait(revision, signal);
  }

  // ---- snapshot / restore ----

  /**
   * A consistent gzip stream of the whole state as of `index`. The stream holds a db snapshot until it
   * is read to the end or destroyed.
   */
  snapshot(): Promise<{ index: number; revision: number; stream: Readable }> {
    return this.serial.run(async () => {
      this.checkUsable();
      const db = this.db;
      const snap = db.snapshot();
      const entries = async function* (): AsyncGenerator<[Buffer, Buffer]> {
        try {
          const it = db.iterator({ snapshot: snap });
          try {
            while (true) {
              const step = await it.nextv(SNAPSHOT_STEP_ENTRIES);
              if (step.length === 0) break;
              yield* step;
            }
          } finally {
            await it.close();
          }
        } finally {
          await snap.close();
        }
      };
      return { index: this.applied, revision: this.rev, stream: encodeSnapshot(entries(), this.compression) };
    });
  }

  /**
   * Replaces the whole state with a snapshot stream: writes a new database beside the active one,
   * fsyncs it, flips kv/CURRENT, then deletes the old one. Open watches end with WatchAbandonedError.
   */
  restore(stream: NodeJS.ReadableStream, opts: { signal?: AbortSignal } = {}): Promise<{ index: number; revision: number }> {
    return this.serial.run(async () => {
      this.checkUsable();
      const newName = nextDbName(this.activeName);
      await this.writeRestored(newName, stream, opts.signal);
      this.crashPoint('written');
      try {
        await this.disk.activate(newName);
        this.crashPoint('pointer-swapped');
        const [oldDb, oldName, oldReads] = [this.db, this.activeName, this.reads];
        await this.adopt(newName, await this.disk.open(newName));
        this.reads = new Set();
        await Promise.allSettled(oldReads);
        await oldDb.close();
        this.crashPoint('old-closed');
        await this.disk.remove(oldName);
      } catch (e) {
        this.failure ??= asError(e); // past the pointer flip there is no way back: reopen the store
        throw e;
      }
      return { index: this.applied, revision: this.rev };
    });
  }

  private async writeRestored(name: string, stream: NodeJS.ReadableStream, signal: AbortSignal | undefined): Promise<void> {
    await this.disk.remove(name);
    const db = await this.disk.open(name);
    try {
      let batch: DbOp[] = [];
      let bytes = 0;
      for await (const [key, value] of decodeSnapshot(stream, this.limits.snapshotRecordBytesMax, signal, this.compression)) {
        batch.push({ type: 'put', key, value });
        bytes += key.length + value.length;
        if (bytes >= this.limits.restoreBatchBytes) {
          await writeBatch(db, batch);
          [batch, bytes] = [[], 0];
        }
      }
      await writeBatch(db, batch);
      await loadState(db, this.limits); // validates format and metadata before we commit to it
      await db.close();
      await this.disk.seal(name); // durable before the pointer names it
    } catch (e) {
      await db.close().catch(() => undefined);
      await this.disk.remove(name);
      throw e;
    }
  }

  private async adopt(name: string, db: Db): Promise<void> {
    const state = await loadState(db, this.limits);
    this.db = db;
    this.activeName = name;
    this.applied = state.applied;
    this.rev = state.revision;
    this.keys = state.keys;
    this.dedupe = state.dedupe;
    this.leaseMap = state.leases;
    this.compactor.reset(state.compacted, state.compacting);
    this.authState = state.auth;
    this.announceAuth({ kind: 'reset' });
    this.hub.endAll(new WatchAbandonedError(state.revision), state.revision);
    this.announce({ kind: 'reset', leases: this.leases() });
  }

  private crashPoint(step: RestoreStep): void {
    try {
      this.hooks?.onRestoreStep?.(step);
    } catch (e) {
      this.failure = asError(e);
      throw e;
    }
  }

  /** Ends every watch (StoppedError) and closes the database; waits for the running job. */
  close(): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.hub.endAll(new StoppedError('kv store'), this.rev);
      this.compactor.close(new StoppedError('kv store'));
      await this.db.close();
    });
  }
}

interface LoadedState {
  readonly applied: number;
  readonly revision: number;
  readonly keys: number;
  readonly dedupe: DedupeTable;
  readonly leases: Map<number, LeaseRecord>;
  readonly auth: AuthState;
  readonly compacted: number;
  readonly compacting: CompactionCursor | null;
}

/**
 * A batch whose results may be handed out before its write lands: it changed only keys (no lease,
 * auth or compaction state, which callers read from memory right after their answer).
 */
function onlyKeysChanged(batch: AppliedBatch, compactRevision: number): boolean {
  return batch.leases.isEmpty() && batch.auth.changes.length === 0 && batch.auth.writes().length === 0 && batch.compactRevision === compactRevision;
}

async function loadState(db: Db, limits: KvLimits): Promise<LoadedState> {
  const [format, applied, revision] = await db.getMany([META_FORMAT, META_APPLIED, META_REVISION]);
  if (format === undefined) {
    if (applied !== undefined) throw new CorruptionError(`kv db ${db.location} has data but no format marker`);
    await db.put(META_FORMAT, u64(FORMAT_VERSION));
  } else if (readU64(format) === FORMAT_VERSION_LATEST_ONLY) {
    await upgradeLatestOnly(db, readU64(revision), limits.restoreBatchBytes);
  } else if (readU64(format) !== FORMAT_VERSION) {
    throw new CorruptionError(`kv db ${db.location} has format ${readU64(format)}; this build reads ${FORMAT_VERSION_LATEST_ONLY} and ${FORMAT_VERSION}`);
  }
  const [keys, compacted, compacting] = await db.getMany([META_KEYS, META_COMPACTED, META_COMPACTING]);
  const dedupe = await DedupeTable.load(db, limits.clientsMax);
  const leases = await loadLeases(db);
  const auth = await loadAuth(db);
  return {
    applied: readU64(applied), revision: readU64(revision), keys: readU64(keys), dedupe, leases, auth,
    compacted: readU64(compacted), compacting: decodeCursor(compacting),
  };
}

/**
 * The revision a read asked for (0 or less: the current one), checked as etcd does: before the
 * compacted revision it is gone, after the current one it does not exist yet.
 */
function readRevision(asked: number, current: number, compacted: number): number {
  if (asked <= 0 || asked === current) return current;
  if (asked > current) throw new FutureRevisionError(asked, current);
  if (asked < compacted) throw new RevisionCompactedError(asked, compacted);
  return asked;
}
