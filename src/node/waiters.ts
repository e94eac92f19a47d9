import { AbortedError, OverloadedError, RaftkvError, ErrorCode } from '../common/errors.js';

export class LeadershipLostError extends RaftkvError {
  override readonly name = 'LeadershipLostError';
  constructor(message = 'leadership changed before the entry committed; retry') {
    super(ErrorCode.LeadershipLost, message);
  }
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
  cleanup(): void;
}

/**
 * Promises keyed by a number (a log index, a read id), bounded, each cancellable by an AbortSignal.
 */
export class WaiterMap<T> {
  private readonly waiters = new Map<number, Waiter<T>>();

  constructor(
    private readonly what: string,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  checkCapacity(): void {
    if (this.waiters.size >= this.max) throw new OverloadedError(this.what, this.max);
  }

  wait(key: number, signal: AbortSignal | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError(`${this.what}: aborted`, { cause: signal.reason }));
        return;
      }
      const onAbort = (): void => {
        this.waiters.delete(key);
        reject(new AbortedError(`${this.what}: aborted`, { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(key, { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) });
    });
  }

  has(key: number): boolean {
    return this.waiters.has(key);
  }

  resolve(key: number, v: T): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    w.cleanup();
    w.resolve(v);
  }

  reject(key: number, e: unknown): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    w.cleanup();
    w.reject(e);
  }

  keys(): number[] {
    return [...this.waiters.keys()];
  }

  rejectAll(e: unknown): void {
    for (const k of this.keys()) this.reject(k, e);
  }
}

/**
 * The entry's fate is unknown to this node (a snapshot replaced the log before it applied): it may
 * or may not have committed. Not retryable without a request id.
 */
export class OutcomeUnknownError extends RaftkvError {
  override readonly name = 'OutcomeUnknownError';
  constructor(message: string) {
    super(ErrorCode.Timeout, message);
  }
}
