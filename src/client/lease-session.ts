import type { Caller } from './caller.js';
import { leaseGrant, leaseKeepAlive, leaseRevoke } from './lease.js';
import type { RaftkvError } from '../common/errors.js';
import { errorFromGrpc } from './status.js';
import type { CallOptions } from './types.js';

/** etcdctl's default session TTL for `lock` and `elect`. */
export const SESSION_TTL_SECONDS_DEFAULT = 10;

/**
 * A lease kept alive in the background for as long as the holder needs it, as clientv3's
 * concurrency.Session: locks and campaigns are bound to it, so they end when the holder dies (its
 * keep-alives stop) or closes the session. `lost` fires if the lease can no longer be renewed.
 */
export class LeaseSession {
  private readonly stop = new AbortController();
  private readonly lostController = new AbortController();
  private readonly keeping: Promise<void>;
  private failure: RaftkvError | null = null;

  private constructor(private readonly caller: Caller, readonly leaseId: number, readonly ttlSeconds: number) {
    this.keeping = this.keep();
  }

  static async open(caller: Caller, o: CallOptions & { ttlSeconds?: number } = {}): Promise<LeaseSession> {
    const g = await leaseGrant(caller, o.ttlSeconds ?? SESSION_TTL_SECONDS_DEFAULT, o);
    return new LeaseSession(caller, g.id, g.ttlSeconds);
  }

  /** Fires when the lease is lost (expired, revoked, or the cluster unreachable for too long). */
  get lost(): AbortSignal {
    return this.lostController.signal;
  }

  /** Why the lease was lost; null while it is kept. */
  get lostBecause(): RaftkvError | null {
    return this.failure;
  }

  private async keep(): Promise<void> {
    try {
      // Failures are retried for a whole TTL after the last renewal: until then the lease may live.
      const o = { signal: this.stop.signal, keepTryingMs: this.ttlSeconds * 1000 };
      for await (const _ of leaseKeepAlive(this.caller, this.leaseId, o)) { /* renewed */ }
    } catch (e) {
      this.failure = errorFromGrpc(e);
      this.lostController.abort(this.failure);
    }
  }

  /** Stops the keep-alives and revokes the lease, which releases whatever was bound to it. */
  async close(o: CallOptions = {}): Promise<void> {
    this.stop.abort();
    await this.keeping;
    if (this.failure === null) await leaseRevoke(this.caller, this.leaseId, o);
  }
}
