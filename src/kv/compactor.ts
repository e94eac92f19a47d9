import type { RaftkvError } from '../common/errors.js';
import { compactStep, encodeCursor, type CompactionCursor } from './compaction.js';
import { CompactionWaiters } from './compaction-waiters.js';
import type { Db, DbOp } from './db.js';
import { writeBatch } from './db.js';
import { META_COMPACTING } from './keys.js';

/** What the compactor needs of its store. */
export interface CompactorHost {
  /** Runs a job in the store's serial queue (applies, snapshots and restores take turns with it). */
  run<T>(job: () => Promise<T>): Promise<T>;
  /** The active db, or null once the store is closed or failed. */
  db(): Db | null;
  /** A write failed: the store must refuse further work. */
  fail(error: unknown): void;
}

/**
 * The compacted revision and the physical work below it. The logical cut (`revision`) changes with
 * the apply that carries a Compact; the records it made unreachable are then deleted in bounded
 * steps, each its own job in the store's queue, so applies go in between (src/kv/compaction.ts).
 */
export class Compactor {
  private running = false;
  private readonly waiters: CompactionWaiters;

  constructor(
    private readonly host: CompactorHost,
    private readonly stepEntries: number,
    waitersMax: number,
    private compacted: number,
    /** The physical work still to do (null: none); it always targets `compacted`. */
    private cursor: CompactionCursor | null,
  ) {
    this.waiters = new CompactionWaiters(waitersMax);
  }

  /** Reads and watches before this revision are refused (0: nothing compacted yet). */
  get revision(): number {
    return this.compacted;
  }

  /** A physical compaction is still reclaiming space. */
  get busy(): boolean {
    return this.cursor !== null;
  }

  /** The state was loaded (open, restore): adopt it and resume any unfinished work. */
  reset(compacted: number, cursor: CompactionCursor | null): void {
    this.compacted = compacted;
    this.cursor = cursor;
    if (cursor === null) this.waiters.settle(compacted);
    this.kick();
  }

  /** An applied Compact moved the cut (its cursor is already in the same db batch). */
  advanced(revision: number): void {
    this.compacted = revision;
    this.cursor = { target: revision, after: null };
    this.kick();
  }

  /** Resolves once the work of a Compact at `revision` is done here; waits for that Compact to apply first. */
  wait(revision: number, signal?: AbortSignal): Promise<void> {
    const done = this.waiters.wait(revision, signal);
    if (this.cursor === null) this.waiters.settle(this.compacted);
    return done;
  }

  close(error: RaftkvError): void {
    this.waiters.failAll(error);
  }

  /** Starts the step loop unless it runs or there is nothing to do. */
  kick(): void {
    if (this.running || this.cursor === null) return;
    this.running = true;
    void (async () => {
      try {
        while (await this.host.run(() => this.step()));
      } catch {
        // The store recorded the failure (it refuses further work) or its job queue was full: the
        // next apply kicks the compaction again.
      } finally {
        this.running = false;
      }
    })();
  }

  /** One step; true while there is more to do. */
  private async step(): Promise<boolean> {
    const cursor = this.cursor;
    const db = this.host.db();
    if (db === null || cursor === null) return false;
    const step = await compactStep(db, cursor, this.stepEntries);
    const progress: DbOp = step.cursor === null
      ? { type: 'del', key: META_COMPACTING }
      : { type: 'put', key: META_COMPACTING, value: encodeCursor(step.cursor) };
    try {
      await writeBatch(db, [...step.deletes, progress]);
    } catch (e) {
      this.host.fail(e);
      throw e;
    }
    this.cursor = step.cursor;
    if (step.cursor === null) this.waiters.settle(this.compacted);
    return step.cursor !== null;
  }
}
