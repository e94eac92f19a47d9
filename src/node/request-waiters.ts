import type { Entry } from '../raft/types.js';
import { LeadershipLostError, WaiterMap } from './waiters.js';

export interface ApplyResult {
  readonly index: number;
  readonly result: unknown;
}

/**
 * Callers waiting for their proposal to apply, keyed by the entry's index. The entry that applies
 * at that index settles the waiter: with the state machine's result if it is the proposal (same
 * term), else with LeadershipLostError (another leader's entry replaced it).
 */
export class ProposalWaiters {
  private readonly waiters: WaiterMap<ApplyResult>;
  private readonly terms = new Map<number, number>();

  constructor(max: number) {
    this.waiters = new WaiterMap('apply backlog', max);
  }

  get size(): number {
    return this.waiters.size;
  }

  checkCapacity(): void {
    this.waiters.checkCapacity();
  }

  /** Wait for the entry the core placed at `at` to apply. */
  add(at: { index: number; term: number }, signal: AbortSignal | undefined): Promise<ApplyResult> {
    this.terms.set(at.index, at.term);
    const p = this.waiters.wait(at.index, signal);
    p.catch(() => this.terms.delete(at.index));
    return p;
  }

  settle(e: Entry, result: unknown): void {
    const term = this.terms.get(e.index);
    if (term === undefined) return;
    this.terms.delete(e.index);
    if (term === e.term) this.waiters.resolve(e.index, { index: e.index, result });
    else this.waiters.reject(e.index, new LeadershipLostError());
  }

  /** Fail every waiter at or below `index` (a snapshot replaced those entries). */
  rejectUpTo(index: number, err: unknown): void {
    for (const [i] of this.terms) {
      if (i > index) continue;
      this.terms.delete(i);
      this.waiters.reject(i, err);
    }
  }

  rejectAll(err: unknown): void {
    this.terms.clear();
    this.waiters.rejectAll(err);
  }
}

/** A ReadIndex round in flight: the reads it answers, and how long it has been out. */
interface ReadRound {
  readonly id: number;
  readonly reads: readonly number[];
  ageTicks: number;
}

/**
 * Linearizable reads, batched the way etcd's read loop batches them: at most one ReadIndex round is
 * in flight; every read that arrives meanwhile waits for the next round, which then answers all of
 * them with one heartbeat round (a follower: one ReadIndex message to the leader). A round's answer
 * is a valid read point for every read queued before the round started, never for a later one. A
 * read is released once the state machine has applied up to its round's index.
 */
export class ReadWaiters {
  private readonly waiters: WaiterMap<number>;
  /** Reads waiting for the next round, in arrival order. */
  private queued: number[] = [];
  private inflight: ReadRound | null = null;
  /** Read id -> the index its round was answered with (waiting for the apply). */
  private readonly answered = new Map<number, number>();
  /** Rounds started so far (reads ÷ rounds is the batching achieved). */
  roundsStarted = 0;

  constructor(
    max: number,
    private seq: number,
    /** A round unanswered for this many ticks is given up and its reads join the next round. */
    private readonly roundTicksMax: number,
  ) {
    this.waiters = new WaiterMap('read backlog', max);
  }

  get size(): number {
    return this.waiters.size;
  }

  /** Whether a round is out (for tests and status). */
  get roundInFlight(): boolean {
    return this.inflight !== null;
  }

  /** Queue a read for the next round (startRound sends it). */
  add(signal: AbortSignal | undefined): Promise<number> {
    this.waiters.checkCapacity();
    const id = ++this.seq;
    const p = this.waiters.wait(id, signal);
    this.queued.push(id);
    return p;
  }

  /**
   * Start a round for the queued reads unless one is in flight: `request` asks the core for a read
   * index with the round's context. Returns whether a round started.
   */
  startRound(request: (ctx: Uint8Array) => void): boolean {
    if (this.inflight !== null) return false;
    const reads = this.queued.filter((id) => this.waiters.has(id)); // drop the aborted ones
    this.queued = [];
    if (reads.length === 0) return false;
    const round: ReadRound = { id: ++this.seq, reads, ageTicks: 0 };
    try {
      request(encodeReadId(round.id));
    } catch (e) {
      for (const id of reads) this.waiters.reject(id, e);
      return false;
    }
    this.inflight = round;
    this.roundsStarted++;
    return true;
  }

  /** The core answered a round: its reads wait for the state machine to reach `index`. */
  onReadState(ctx: Uint8Array, index: number): void {
    const round = this.inflight;
    if (round === null || decodeReadId(ctx) !== round.id) return; // a round given up, or a previous incarnation's
    this.inflight = null;
    for (const id of round.reads) if (this.waiters.has(id)) this.answered.set(id, index);
  }

  /**
   * One tick passed. A round out for roundTicksMax ticks (its request or answer was lost) is given
   * up: its reads go first into the next round, whose read point is also valid for them (it is
   * taken after they arrived). Returns whether reads now wait for a round.
   */
  tick(): boolean {
    const round = this.inflight;
    if (round === null || ++round.ageTicks < this.roundTicksMax) return false;
    this.inflight = null;
    this.queued = [...round.reads, ...this.queued];
    return true;
  }

  /** Release every answered read whose index the state machine has reached. */
  release(applied: number): void {
    for (const [id, index] of this.answered) {
      if (!this.waiters.has(id)) {
        this.answered.delete(id);
        continue;
      }
      if (applied < index) continue;
      this.answered.delete(id);
      this.waiters.resolve(id, index);
    }
  }

  /**
   * Fail the round in flight (the leader changed: no answer will come). Queued reads stay: their
   * round has not started, and will ask whichever leader is known when it does.
   */
  rejectUnanswered(err: unknown): void {
    const round = this.inflight;
    this.inflight = null;
    for (const id of round?.reads ?? []) this.waiters.reject(id, err);
  }

  rejectAll(err: unknown): void {
    this.answered.clear();
    this.queued = [];
    this.inflight = null;
    this.waiters.rejectAll(err);
  }
}
function encodeReadId(id: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, id);
  return b;
}

function decodeReadId(ctx: Uint8Array): number | null {
  if (ctx.byteLength !== 8) return null;
  return new DataView(ctx.buffer, ctx.byteOffset, 8).getFloat64(0);
}
