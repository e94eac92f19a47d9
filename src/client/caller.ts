import { Metadata } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../common/errors.js';
import { CLIENT_ID_PATTERN, REQUEST_ID_METADATA_KEY, formatRequestId } from '../common/request-id.js';
import type { Endpoints, Stubs } from './endpoints.js';
import { ClientClosedError } from './errors.js';
import { withRetries, type Attempt, type RetryPolicy } from './retry.js';
import { WriteSessions, type WriteId } from './sessions.js';
import type { CallOptions } from './types.js';

export type Run<Res> = (a: Attempt, stubs: Stubs) => Promise<Res>;

/**
 * How every call of the client is made: on the current endpoint, retried on the next one after a
 * retryable failure, within one deadline, cancelled by the caller's signal. Writes also carry a
 * request id (gRPC metadata `raftkv-request-id`), the same on every attempt of one write.
 */
export class Caller {
  private readonly sessions: WriteSessions;
  private closed = false;

  constructor(
    readonly endpoints: Endpoints,
    readonly policy: RetryPolicy,
    readonly defaultTimeoutMs: number,
    readonly clientId: string,
    writesInFlightMax: number,
  ) {
    if (!CLIENT_ID_PATTERN.test(clientId)) throw new InvalidArgumentError(`bad clientId ${JSON.stringify(clientId)}: 1 to 128 printable ASCII characters without spaces`);
    if (!(defaultTimeoutMs > 0)) throw new InvalidArgumentError('defaultTimeoutMs must be positive');
    this.sessions = new WriteSessions(clientId, writesInFlightMax);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.endpoints.close();
  }

  assertOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }

  /** A call whose attempts may all run (reads, and writes that are safe to repeat). */
  unary<Res>(o: CallOptions, run: Run<Res>): Promise<Res> {
    this.assertOpen();
    let used = -1;
    return withRetries({
      timeoutMs: o.timeoutMs ?? this.defaultTimeoutMs,
      signal: o.signal,
      policy: this.policy,
      onRetryableFailure: () => this.endpoints.rotateFrom(used),
    }, (a) => {
      this.assertOpen();
      const stubs = this.endpoints.get();
      used = stubs.index;
      return run(a, stubs);
    });
  }

  /**
   * A write: its request id is taken ONCE and every attempt sends it, so a server that dedupes by it
   * applies the write at most once whichever attempt got through.
   */
  async write<Res>(o: CallOptions, run: (a: Attempt, stubs: Stubs, md: Metadata) => Promise<Res>): Promise<Res> {
    this.assertOpen();
    const id: WriteId = this.sessions.acquire();
    try {
      const md = new Metadata();
      md.set(REQUEST_ID_METADATA_KEY, formatRequestId(id));
      return await this.unary(o, (a, stubs) => run(a, stubs, md.clone()));
    } finally {
      this.sessions.release(id);
    }
  }
}
