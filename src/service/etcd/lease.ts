import { randomInt } from 'node:crypto';
import type { ClientDuplexStream, Metadata, ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';
import { InvalidArgumentError, NotLeaderError } from '../../common/errors.js';
import {
  LeaseService,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseKeepAliveResponse,
  type LeaseLeasesRequest,
  type LeaseLeasesResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type LeaseServer,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import type { Command } from '../../kv/types.js';
import { callScope, type CallScope } from '../call-signal.js';
import type { ServiceLeases } from '../deps.js';
import { FORWARDED_HEADER } from '../forward.js';
import type { KvCore } from '../kv-core.js';
import { requestIdFromMetadata } from '../request-id.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { checkMalformed } from '../malformed.js';
import { EtcdError, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';
import { expect } from './kv.js';

/** etcd's MaxLeaseTTL. */
const LEASE_TTL_SECONDS_MAX = 9_000_000_000;
/** A keep-alive stream lives as long as its caller keeps it open. */
const KEEPALIVE_STREAM_TIMEOUT_MS = 2 ** 31 - 1;
/** Keep-alives of one stream waiting for their answer; beyond it the stream is ended. */
const KEEPALIVES_PENDING_MAX = 1_000;
/** Ids tried when a server-chosen lease id collides with an existing lease. */
const ID_ATTEMPTS_MAX = 3;

/**
 * A server-chosen lease id: random, non-zero, below 2^53 (the generated code carries int64 as a JS
 * number). etcd counts up from a member-id prefix instead; ids are opaque to clients either way.
 */
function randomLeaseId(): number {
  return randomInt(0, 2 ** 21) * 2 ** 32 + randomInt(1, 2 ** 32);
}

/**
 * etcd's Lease service. Grant and Revoke are raft commands (forwarded to the leader like any write);
 * keep-alives, TimeToLive and the expiry itself belong to the leader's lessor: a follower forwards
 * TimeToLive as a unary call and proxies each keep-alive stream to the leader.
 */
export function createEtcdLeaseServer(ctx: HandlerContext, core: KvCore, header: HeaderOf, leases: ServiceLeases): LeaseServer {
  const etcdUnary = <Req, Res>(body: (req: Req, scope: CallScope, call: ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    unary<Req, Res>(ctx, async (req, scope, call) => body(req, await ctx.auth.scoped(scope, call), call), toEtcdStatus);
  const current = (): number => ctx.deps.kv.stats().revision;

  const grant = async (scope: CallScope, md: Metadata, req: LeaseGrantRequest): Promise<LeaseGrantResponse> => {
    if (req.TTL > LEASE_TTL_SECONDS_MAX) throw new EtcdError('leaseTtlTooLarge');
    if (req.ID < 0) throw new InvalidArgumentError('lease ID must not be negative');
    ctx.auth.requireUser(scope);
    const ttlSeconds = Math.max(req.TTL, leases.minTtlSeconds);
    for (let attempt = 1; ; attempt++) {
      const id = req.ID !== 0 ? req.ID : randomLeaseId();
      const cmd: Command = { op: { kind: 'leaseGrant', leaseGrant: { id, ttlSeconds } }, requestId: requestIdFromMetadata(md) };
      try {
        return await core.write(scope, md, LeaseService.leaseGrant, req, cmd, (r) => {
          const g = expect(r, 'leaseGrant');
          return { header: header(r.revision), ID: g.id, TTL: g.ttlSeconds, error: '' };
        });
      } catch (e) {
        // A collision of a server-chosen id is ours to retry; a chosen id that exists is the caller's.
        if (req.ID !== 0 || attempt >= ID_ATTEMPTS_MAX || !(e instanceof EtcdError && e.which === 'leaseExists')) throw e;
      }
    }
  };

  return {
    leaseGrant: etcdUnary<LeaseGrantRequest, LeaseGrantResponse>((req, scope, call) => grant(scope, call.metadata, req)),
    leaseRevoke: etcdUnary<LeaseRevokeRequest, LeaseRevokeResponse>(async (req, scope, call) => {
      if (req.ID <= 0) throw new EtcdError('leaseNotFound');
      // As etcd: revoking deletes the lease's keys, so the caller needs write on each of them.
      await ctx.auth.fresh(scope);
      for (const key of await leases.keys(req.ID)) ctx.auth.require(scope, 'write', key);
      const cmd: Command = { op: { kind: 'leaseRevoke', leaseRevoke: { id: req.ID } }, requestId: requestIdFromMetadata(call.metadata) };
      return core.write(scope, call.metadata, LeaseService.leaseRevoke, req, cmd, (r) => (expect(r, 'leaseRevoke'), { header: header(r.revision) }));
    }),
    leaseTimeToLive: etcdUnary<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>((req, scope, call) =>
      ctx.router.onLeader(scope, call.metadata, LeaseService.leaseTimeToLive, req, async () => {
        const t = leases.timeToLive(req.ID);
        // etcd: an unknown lease is no error here, but TTL -1.
        if (t === null) return { header: header(current()), ID: req.ID, TTL: -1, grantedTTL: 0, keys: [] };
        const keys = req.keys ? (await leases.keys(req.ID)).map((k) => Buffer.from(k)) : [];
        for (const key of keys) ctx.auth.require(scope, 'read', key);
        return { header: header(current()), ID: req.ID, TTL: t.remainingSeconds, grantedTTL: t.grantedSeconds, keys };
      }, { idempotent: true }),
    ),
    leaseLeases: etcdUnary<LeaseLeasesRequest, LeaseLeasesResponse>(async (_req, scope) => {
      ctx.auth.requireUser(scope);
      return { header: header(current()), leases: leases.list().map((ID) => ({ ID })) };
    }),
    leaseKeepAlive: (call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>) => serveKeepAlive(ctx, header, leases, call),
  };
}

/**
 * One keep-alive stream. On the leader each request renews in the lessor and is answered with the
 * TTL (0 for an unknown or expired lease: etcd sends no error then). On a follower the requests go
 * up one stream to the leader, whose answers come back down; a leader change closes that stream
 * and the next request opens one to the new leader (a renewal lost on the way is simply repeated
 * by the client at its next interval, TTL/3 for etcd's clients).
 */
function serveKeepAlive(ctx: HandlerContext, header: HeaderOf, leases: ServiceLeases, call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>): void {
  const scope = callScope(call, KEEPALIVE_STREAM_TIMEOUT_MS, ctx.shutdown);
  // Keep-alives need a known user; the caller is identified once, before the first request is handled.
  const identified = ctx.auth.scoped(scope, call).then((s) => (ctx.auth.requireUser(s), s));
  identified.catch(() => undefined); // the first request's handling reports the failure
  const forwarded = call.metadata.get(FORWARDED_HEADER).length > 0;
  let upstream: { stream: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>; leaderId: number } | null = null;
  let pending = 0;
  let chain: Promise<void> = Promise.resolve();
  let ended = false;

  const end = (err: unknown): void => {
    if (ended) return;
    ended = true;
    ctx.deps.node.off('leader-change', onLeaderChange);
    closeUpstream();
    scope.dispose();
    if (err === null) call.end();
    else if (!call.cancelled) call.emit('error', toEtcdStatus(err));
  };
  const closeUpstream = (): void => {
    upstream?.stream.cancel();
    upstream = null;
  };
  const onLeaderChange = (): void => {
    if (upstream !== null && ctx.deps.node.leader()?.id !== upstream.leaderId) closeUpstream();
  };
  ctx.deps.node.on('leader-change', onLeaderChange);
  scope.signal.addEventListener('abort', () => end(null), { once: true });
  call.on('end', () => void chain.then(() => end(null)));
  call.on('error', () => end(null));
  call.on('close', () => end(null));

  const openUpstream = async (): Promise<NonNullable<typeof upstream>> => {
    const leader = await ctx.router.waitForLeader(scope.signal);
    const addr = ctx.deps.resolver.grpcAddress(leader.id);
    if (addr === undefined) throw new EtcdError('noLeader');
    const stream = ctx.router.forwarder.bidi(addr, LeaseService.leaseKeepAlive, (await identified).caller);
    const up = { stream, leaderId: leader.id };
    stream.on('data', (res: LeaseKeepAliveResponse) => {
      if (!ended) call.write(res);
    });
    stream.on('error', () => {
      if (upstream === up) upstream = null; // the next keep-alive opens a new one
    });
    stream.on('end', () => {
      if (upstream === up) upstream = null;
    });
    return up;
  };

  const handle = async (req: LeaseKeepAliveRequest): Promise<void> => {
    checkMalformed(req);
    await identified;
    if (forwarded || ctx.deps.node.isLeader()) {
      try {
        // etcd's ensureLeadership: a leader cut off from its quorum (or paused) may not know yet that
        // a newer leader times the leases; renewing there would promise a lifetime the new leader
        // does not grant. A ReadIndex round (shared with the reads in flight) confirms leadership first.
        await ctx.deps.node.readIndex({ signal: AbortSignal.any([scope.signal, AbortSignal.timeout(ctx.requestTimeoutMs)]) });
        const ttl = leases.renew(req.ID);
        call.write({ header: header(ctx.deps.kv.stats().revision), ID: req.ID, TTL: ttl ?? 0 });
        return;
      } catch (e) {
        // Leadership just moved: a forwarded stream ends (its follower reopens one to the new
        // leader); a client's own stream goes up to the new leader instead.
        if (forwarded || !(e instanceof NotLeaderError)) throw e;
      }
    }
    upstream ??= await openUpstream();
    upstream.stream.write(req);
  };

  call.on('data', (req: LeaseKeepAliveRequest) => {
    if (ended) return;
    if (++pending > KEEPALIVES_PENDING_MAX) {
      end(new InvalidArgumentError(`more than ${KEEPALIVES_PENDING_MAX} keep-alives waiting on one stream`));
      return;
    }
    chain = chain
      .then(() => (ended ? undefined : handle(req)))
      .catch((err: unknown) => end(err))
      .finally(() => pending--);
  });
}
