import { status as GrpcStatus, type ClientDuplexStream } from '@grpc/grpc-js';
import * as pb from '../gen/etcd/etcdserverpb/rpc.js';
import { ErrorCode, InvalidArgumentError, type RaftkvError } from '../common/errors.js';
import type { Caller } from './caller.js';
import { checkLeaseId, revisionOf } from './convert.js';
import { callUnary } from './endpoints.js';
import { ClientAbortedError, ClientClosedError, ClientError, RetriesExhaustedError } from './errors.js';
import { aborted, backoffMs, sleep } from './retry.js';
import { errorFromGrpc, isRetryable } from './status.js';
import type { CallOptions, KeepAliveResult, LeaseGrantResult, LeaseListResult, LeaseTimeToLiveResult } from './types.js';

/** etcd's MaxLeaseTTL. */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;

/** The lease is gone (expired or revoked): a keep-alive answered TTL 0. */
export class LeaseExpiredError extends ClientError {
  override readonly name = 'LeaseExpiredError';
  constructor(readonly leaseId: number) {
    super(ErrorCode.NotFound, `lease ${leaseId.toString(16)} not found: it expired or was revoked`, null);
  }
}

export interface KeepAliveOptions {
  /** Renew this often; default a third of the granted TTL (as etcd's clients), learned from the first answer. */
  readonly intervalMs?: number;
  /**
   * Keep reopening failed streams for this long after the last renewal, beyond `policy.attemptsMax`
   * failures (a session passes its TTL: until then the lease may still be alive). Default 0.
   */
  readonly keepTryingMs?: number;
  readonly signal?: AbortSignal;
}

export async function leaseGrant(c: Caller, ttlSeconds: number, o: CallOptions & { id?: number }): Promise<LeaseGrantResult> {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > LEASE_TTL_SECONDS_MAX) {
    throw new InvalidArgumentError(`lease TTL must be an integer from 1 to ${LEASE_TTL_SECONDS_MAX} seconds, got ${ttlSeconds}`);
  }
  // Without a chosen id a repeated grant makes a second lease, which then expires unused: harmless.
  const req = pb.LeaseGrantRequest.fromPartial({ TTL: ttlSeconds, ID: checkLeaseId(o.id ?? 0, true) });
  const r = await c.write(o, (a, s, md) => callUnary(s.lease.leaseGrant.bind(s.lease), req, a, md));
  return { revision: revisionOf(r.header), id: r.ID, ttlSeconds: r.TTL };
}

export async function leaseRevoke(c: Caller, id: number, o: CallOptions): Promise<{ revision: number }> {
  const req = pb.LeaseRevokeRequest.fromPartial({ ID: checkLeaseId(id) });
  const r = await c.write(o, (a, s, md) => callUnary(s.lease.leaseRevoke.bind(s.lease), req, a, md));
  return { revision: revisionOf(r.header) };
}

export async function leaseTimeToLive(c: Caller, id: number, o: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLiveResult> {
  const req = pb.LeaseTimeToLiveRequest.fromPartial({ ID: checkLeaseId(id), keys: o.keys ?? false });
  const r = await c.unary(o, (a, s) => callUnary(s.lease.leaseTimeToLive.bind(s.lease), req, a));
  return { revision: revisionOf(r.header), id: r.ID, ttlSeconds: r.TTL, grantedTtlSeconds: r.grantedTTL, keys: r.keys };
}

export async function leaseList(c: Caller, o: CallOptions): Promise<LeaseListResult> {
  const r = await c.unary(o, (a, s) => callUnary(s.lease.leaseLeases.bind(s.lease), pb.LeaseLeasesRequest.fromPartial({}), a));
  return { revision: revisionOf(r.header), ids: r.leases.map((l) => l.ID) };
}

/** One renewal: a keep-alive stream that sends one request and waits for its answer. */
export async function leaseKeepAliveOnce(c: Caller, id: number, o: CallOptions): Promise<KeepAliveResult> {
  checkLeaseId(id);
  const ttl = await c.unary(o, (a, s) => new Promise<number>((resolve, reject) => {
    const call = s.lease.leaseKeepAlive({ deadline: a.deadline });
    const onAbort = (): void => call.cancel();
    a.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      a.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    };
    call.once('data', (r: pb.LeaseKeepAliveResponse) => {
      done();
      resolve(r.TTL);
    });
    call.once('error', (e) => {
      done();
      reject(e);
    });
    call.once('end', () => {
      done();
      reject(errorFromGrpc({ code: GrpcStatus.UNAVAILABLE, details: 'the keep-alive stream ended without an answer' }));
    });
    call.write(pb.LeaseKeepAliveRequest.fromPartial({ ID: id }));
  }));
  if (ttl <= 0) throw new LeaseExpiredError(id);
  return { id, ttlSeconds: ttl };
}

/**
 * Keeps a lease alive until the signal fires or the caller stops iterating: one renewal per interval
 * on a keep-alive stream, yielding each answer. A stream that fails is reopened on the next endpoint
 * (`policy.attemptsMax` consecutive failures end it); a TTL of 0 means the lease is gone
 * (LeaseExpiredError). A renewal lost with a stream is simply the next one's job, as in etcd's clients.
 */
export async function* leaseKeepAlive(c: Caller, id: number, o: KeepAliveOptions = {}): AsyncGenerator<KeepAliveResult> {
  checkLeaseId(id);
  if (o.intervalMs !== undefined && !(o.intervalMs >= 1)) throw new InvalidArgumentError(`keep-alive interval must be at least 1 ms, got ${o.intervalMs}`);
  let intervalMs = o.intervalMs ?? null;
  let failures = 0;
  let renewedAtMs = Date.now();
  while (true) {
    if (c.isClosed) throw new ClientClosedError();
    if (aborted(o.signal)) return;
    const stubs = c.endpoints.get();
    const call: ClientDuplexStream<pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse> = stubs.lease.leaseKeepAlive();
    const onAbort = (): void => call.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let failure: RaftkvError | null = null;
    let timer: NodeJS.Timeout | null = null;
    const send = (): void => {
      call.write(pb.LeaseKeepAliveRequest.fromPartial({ ID: id }));
    };
    try {
      send();
      for await (const r of call as AsyncIterable<pb.LeaseKeepAliveResponse>) {
        failures = 0;
        if (r.TTL <= 0) throw new LeaseExpiredError(id);
        renewedAtMs = Date.now();
        yield { id, ttlSeconds: r.TTL };
        if (intervalMs === null) intervalMs = Math.max(1, Math.floor((r.TTL * 1000) / 3));
        timer ??= setInterval(send, intervalMs);
      }
    } catch (e) {
      if (e instanceof ClientError) throw e;
      if (aborted(o.signal)) return;
      if (c.isClosed) throw new ClientClosedError();
      failure = errorFromGrpc(e);
      if (!isRetryable(failure)) throw failure;
    } finally {
      if (timer !== null) clearInterval(timer);
      o.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
    failures++;
    c.endpoints.rotateFrom(stubs.index);
    const givenUp = failures >= c.policy.attemptsMax && Date.now() - renewedAtMs >= (o.keepTryingMs ?? 0);
    if (givenUp && failure !== null) throw new RetriesExhaustedError(failures, failure);
    try {
      await sleep(backoffMs(c.policy, failures, Math.random), o.signal);
    } catch (e) {
      if (e instanceof ClientAbortedError) return;
      throw e;
    }
  }
}
