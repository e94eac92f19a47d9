import { remainingSuspicionMs } from './formulas.js';

/**
 * One running suspicion about a member (memberlist suspicion.go, without its timer goroutine): the
 * deadline starts at `max` and falls toward `min` as distinct members confirm the suspicion.
 */
export class Suspicion {
  private readonly confirmers = new Set<string>();
  private deadline: number;

  constructor(
    private readonly origin: string,
    readonly incarnation: number,
    private startMs: number,
    private readonly wanted: number,
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.deadline = this.computeDeadline();
  }

  get deadlineMs(): number {
    return this.deadline;
  }

  get confirmations(): number {
    return this.confirmers.size;
  }

  /** Counts an independent confirmation; false when it is a duplicate or no more are wanted. */
  confirm(from: string): boolean {
    if (this.confirmers.size >= this.wanted || from === this.origin || this.confirmers.has(from)) return false;
    this.confirmers.add(from);
    this.deadline = this.computeDeadline();
    return true;
  }

  /** Our process was stalled: the stalled time does not count against the suspect. */
  shift(ms: number): void {
    this.startMs += ms;
    this.deadline += ms;
  }

  private computeDeadline(): number {
    return this.startMs + remainingSuspicionMs(this.confirmers.size, this.wanted, 0, this.minMs, this.maxMs);
  }
}
