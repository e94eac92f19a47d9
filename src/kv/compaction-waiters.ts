import { AbortedError, OverloadedError } from '../common/errors.js';
import type { RaftkvError } from '../common/errors.js';

interface Waiter {
  readonly revision: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Callers of Compact with `physical` waiting until the store has reclaimed below their revision. */
export class CompactionWaiters {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly waitersMax: number) {}

  /** Resolves once `settle` reports a finished compaction at or above `revision`. */
  wait(revision: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new AbortedError('wait for compaction aborted'));
    if (this.waiters.size >= this.waitersMax) return Promise.reject(new OverloadedError('compaction waiters', this.waitersMax));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        revision, resolve, reject, signal,
        onAbort: () => {
          this.waiters.delete(w);
          reject(new AbortedError('wait for compaction aborted'));
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.add(w);
    });
  }

  /** Physical compaction is complete through `revision`. */
  settle(revision: number): void {
    for (const w of this.waiters) {
      if (w.revision > revision) continue;
      this.drop(w);
      w.resolve();
    }
  }

  failAll(error: RaftkvError): void {
    for (const w of this.waiters) {
      this.drop(w);
      w.reject(error);
    }
  }

  private drop(w: Waiter): void {
    this.waiters.delete(w);
    w.signal?.removeEventListener('abort', w.onAbort);
  }
}
