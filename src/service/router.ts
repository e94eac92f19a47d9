import { Metadata, status } from '@grpc/grpc-js';
import { copyRequestId } from './request-id.js';
import { ErrorCode, NotLeaderError, RaftkvError } from '../common/errors.js';
import type { AddressResolver } from '../resolver/types.js';
import type { CallScope } from './call-signal.js';
import type { LeaderInfo, ServiceNode } from './node-port.js';
import { FORWARDED_HEADER, withIdentity, type ForwardedIdentity, type Forwarder, type UnaryMethod } from './forward.js';
import { isForwardedError, isRetryableCode, raftkvCodeOf } from './status.js';

export class LeaderAddressUnknownError extends RaftkvError {
  override readonly name = 'LeaderAddressUnknownError';
  constructor(leaderId: number) {
    super(ErrorCode.Unavailable, `node ${leaderId} leads, but its gRPC address is not known here (check --peers)`);
  }
}

/** Attempts per call: the first, plus one retry after a leader change (DESIGN.md "Service API"). */
const ATTEMPTS_MAX = 2;
/** An idempotent forwarded call follows at most this many leader changes while in flight. */
const RESENDS_MAX = 3;

/** The leader a follower forwarded to lost leadership before answering: the work may or may not have happened. */
export class ForwardOutcomeUnknownError extends RaftkvError {
  override readonly name = 'ForwardOutcomeUnknownError';
  constructor(from: LeaderInfo, to: LeaderInfo) {
    super(ErrorCode.Timeout, `leadership moved from node ${from.id} (term ${from.term}) to node ${to.id} (term ${to.term}) while the request was in flight: it may or may not have been applied; send it with a request id to have it retried safely`);
  }
}

/** A forwarded call interrupted by a leader change, with the leader that took over. */
class LeaderMovedError extends Error {
  constructor(readonly next: LeaderInfo) {
    super('leader moved');
  }
}

export interface OnLeaderOptions {
  /**
   * The request carries a request id, so the leader's dedupe table applies it at most once: when
   * leadership moves while it is forwarded, it is re-sent to the new leader at once. Without one the
   * caller gets ForwardOutcomeUnknownError at once instead of waiting out its deadline.
   */
  readonly idempotent?: boolean;
}

/**
 * Runs leader-only work: locally on the leader, otherwise forwarded once to the leader's gRPC
 * address with the caller's remaining deadline, retried once after a leader change.
 */
export class LeaderRouter {
  constructor(
    private readonly node: ServiceNode,
    private readonly resolver: AddressResolver,
    /** Also used directly to proxy streams to the leader (etcd's lease keep-alives). */
    readonly forwarder: Forwarder,
    private readonly leaderWaitMs: number,
  ) {}

  async onLeader<Req, Res>(scope: CallScope, md: Metadata, method: UnaryMethod<Req, Res>, req: Req, local: (signal: AbortSignal) => Promise<Res>, opts: OnLeaderOptions = {}): Promise<Res> {
    // A forwarded call is served here or fails here: at most one hop.
    if (md.get(FORWARDED_HEADER).length > 0) return local(scope.signal);
    let resends = 0;
    for (let attempt = 1; ; attempt++) {
      const leader = await this.waitForLeader(scope.signal);
      try {
        if (leader.isSelf) return await local(scope.signal);
        const addr = this.resolver.grpcAddress(leader.id);
        if (addr === undefined) throw new LeaderAddressUnknownError(leader.id);
        // The caller's identity goes along as this member verified it (never more than that), next
        // to the request id: over the stream and over its unary fallback alike.
        return await this.forwardWhileLeader(leader, (signal) => this.forwarder.callStreamed(addr, method, req, scope.deadlineMs, signal, forwardedMetadata(md, scope.caller)), scope.signal);
      } catch (e) {
        if (e instanceof LeaderMovedError) {
          if (!opts.idempotent) throw new ForwardOutcomeUnknownError(leader, e.next);
          if (++resends > RESENDS_MAX) throw new ForwardOutcomeUnknownError(leader, e.next);
          attempt--; // following the leader is not a failed attempt
          continue;
        }
        if (attempt >= ATTEMPTS_MAX || scope.signal.aborted || !isRetryable(e)) throw e;
        await this.waitForLeaderOtherThan(leader, scope.signal);
      }
    }
  }

  /**
   * Runs a forwarded call, cancelling it as soon as this node learns of another leader or term: the
   * old leader may never answer (it lost its quorum), and waiting would cost the caller its deadline.
   */
  private async forwardWhileLeader<Res>(leader: LeaderInfo, send: (signal: AbortSignal) => Promise<Res>, signal: AbortSignal): Promise<Res> {
    const moved = new AbortController();
    const onChange = (l: LeaderInfo | null): void => {
      if (l !== null && (l.id !== leader.id || l.term !== leader.term)) moved.abort(new LeaderMovedError(l));
    };
    this.node.on('leader-change', onChange);
    try {
      return await send(AbortSignal.any([signal, moved.signal]));
    } catch (e) {
      if (moved.signal.aborted && !signal.aborted) throw moved.signal.reason;
      throw e;
    } finally {
      this.node.off('leader-change', onChange);
    }
  }


  /** Local work that needs a known leader (a ReadIndex read), retried once after a leader change. */
  async withLeader<Res>(scope: CallScope, local: (signal: AbortSignal) => Promise<Res>): Promise<Res> {
    for (let attempt = 1; ; attempt++) {
      const leader = await this.waitForLeader(scope.signal);
      try {
        return await local(scope.signal);
      } catch (e) {
        if (attempt >= ATTEMPTS_MAX || scope.signal.aborted || !isRetryable(e)) throw e;
        await this.waitForLeaderOtherThan(leader, scope.signal);
      }
    }
  }

  waitForLeader(signal: AbortSignal): Promise<LeaderInfo> {
    return this.waitLeader((l) => l !== null, signal) as Promise<LeaderInfo>;
  }

  /** Waits (bounded) until a different leader or term is known; returns quietly at the bound. */
  private async waitForLeaderOtherThan(prev: LeaderInfo, signal: AbortSignal): Promise<void> {
    try {
      await this.waitLeader((l) => l !== null && (l.id !== prev.id || l.term !== prev.term), signal);
    } catch (e) {
      if (signal.aborted) throw e;
    }
  }

  private waitLeader(ok: (l: LeaderInfo | null) => boolean, signal: AbortSignal): Promise<LeaderInfo | null> {
    const now = this.node.leader();
    if (ok(now)) return Promise.resolve(now);
    return new Promise<LeaderInfo | null>((resolve, reject) => {
      const onChange = (l: LeaderInfo | null): void => {
        if (ok(l)) done(() => resolve(l));
      };
      const onAbort = (): void => done(() => reject(signal.reason));
      const timer = setTimeout(() => done(() => reject(new NotLeaderError(0))), this.leaderWaitMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.node.off('leader-change', onChange);
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      this.node.on('leader-change', onChange);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Errors after which the work certainly did not happen, so another attempt cannot apply it twice. */
function isRetryable(e: unknown): boolean {
  if (e instanceof RaftkvError) return isRetryableCode(e.code) || e.code === ErrorCode.Unavailable;
  if (isForwardedError(e)) {
    const code = raftkvCodeOf(e);
    // UNAVAILABLE without our code is retryable only when the request never left: the channel
    // could not connect. "Connection dropped" (and anything else) may come after the leader applied
    // the write, and retrying then would apply a CAS twice (found by test/faults).
    return isRetryableCode(code) || (code === undefined && e.code === status.UNAVAILABLE && /No connection established|ECONNREFUSED/i.test(e.details));
  }
  return false;
}

/** What of the caller travels with a forwarded call: the request id (so a resent write applies once) and the verified identity. */
function forwardedMetadata(from: Metadata, caller: ForwardedIdentity | undefined): Metadata {
  const md = new Metadata();
  copyRequestId(from, md);
  return withIdentity(md, caller);
}
