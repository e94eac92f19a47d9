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

/**
 * Linearizable reads: each gets an id carried as the ReadIndex context; the core answers with a
 * read index, and the read is released once the state machine has applied up to it.
 */
export class ReadWaiters {
  private readonly waiters: WaiterMap<number>;
  /** Read id -> the index the core answered with. */
  private readonly answered = new Map<number, number>();

  constructor(
    max: number,
    private seq: number,
  ) {
    this.waiters = new WaiterMap('read backlog', max);
  }

  get size(): number {
    return this.waiters.size;
  }

  /** Start a read: `request` asks the core for a read index with the read's context. */
  add(signal: AbortSignal | undefined, request: (ctx: Uint8Array) => void): Promise<number> {
    this.waiters.checkCapacity();
    const id = ++this.seq;
    const p = this.waiters.wait(id, signal);
    try {
      request(encodeReadId(id));
    } catch (e) {
      this.waiters.reject(id, e);
    }
    return p;
  }

  onReadState(ctx: Uint8Array, index: number): void {
    const id = decodeReadId(ctx);
    if (id !== null && this.waiters.has(id)) this.answered.set(id, index);
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

  /** Fail the reads no leader has answered yet (the leader changed: no answer will come). */
  rejectUnanswered(err: unknown): void {
    for (const id of this.waiters.keys()) {
      if (!this.answered.has(id)) this.waiters.reject(id, err);
    }
  }

  rejectAll(err: unknown): void {
    this.answered.clear();
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
