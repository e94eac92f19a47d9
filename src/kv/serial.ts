import { OverloadedError } from '../common/errors.js';

/**
 * Runs async jobs one at a time, in call order: applies, snapshots and restores must never interleave
 * (each sees the state the previous one left). Bounded: callers (the raft driver) await their jobs,
 * so a long queue means something upstream is not waiting.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  constructor(private readonly pendingMax: number) {}

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.pending >= this.pendingMax) return Promise.reject(new OverloadedError('kv store job queue', this.pendingMax));
    this.pending++;
    const result = this.tail.then(job).finally(() => this.pending--);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
