import type { ClientReadableStream } from '@grpc/grpc-js';
import * as epb from '../gen/etcd/v3electionpb/v3election.js';
import * as lpb from '../gen/etcd/v3lockpb/v3lock.js';
import { ErrorCode, InvalidArgumentError, type RaftkvError } from '../common/errors.js';
import type { Caller } from './caller.js';
import { checkLeaseId, fromKv, revisionOf, toBuffer } from './convert.js';
import { callUnary } from './endpoints.js';
import { ClientAbortedError, ClientClosedError, ClientError } from './errors.js';
import { aborted, backOffBeforeResume, resumableFailure } from './retry.js';
import type { Bytes, CallOptions, LeaderKey, LeaderResult, LockResult } from './types.js';

/**
 * Clients of etcd's Lock and Election services (v3lockpb, v3electionpb): the server runs the
 * recipes, the client names the lease that holds the lock or the leadership. Lock and Campaign wait
 * as long as their caller does (no deadline unless `timeoutMs` is given; the signal cancels them), and
 * are retried on another member after a failure: with the same lease, the server finds the key the
 * first attempt made, so a retry never queues the caller twice.
 */

function checkName(name: Bytes): Buffer {
  const b = toBuffer(name);
  if (b.length === 0) throw new InvalidArgumentError('a lock or election name must not be empty');
  return b;
}

const waiting = (o: CallOptions): CallOptions => ({ ...o, timeoutMs: o.timeoutMs ?? Infinity });

export async function lock(c: Caller, name: Bytes, lease: number, o: CallOptions): Promise<LockResult> {
  const req = lpb.LockRequest.fromPartial({ name: checkName(name), lease: checkLeaseId(lease) });
  const r = await c.unary(waiting(o), (a, s) => callUnary(s.lock.lock.bind(s.lock), req, a));
  return { revision: revisionOf(r.header), key: r.key };
}

export async function unlock(c: Caller, key: Bytes, o: CallOptions): Promise<{ revision: number }> {
  const req = lpb.UnlockRequest.fromPartial({ key: checkName(key) });
  const r = await c.unary(o, (a, s) => callUnary(s.lock.unlock.bind(s.lock), req, a));
  return { revision: revisionOf(r.header) };
}

function fromLeaderKey(k: epb.LeaderKey | undefined): LeaderKey {
  if (k === undefined) throw new ClientError(ErrorCode.Internal, 'the server answered a campaign without its leader key', null);
  return { name: k.name, key: k.key, revision: k.rev, lease: k.lease };
}

function toLeaderKey(k: LeaderKey): epb.LeaderKey {
  return epb.LeaderKey.fromPartial({ name: checkName(k.name), key: checkName(k.key), rev: k.revision, lease: checkLeaseId(k.lease) });
}

export async function campaign(c: Caller, name: Bytes, value: Bytes, lease: number, o: CallOptions): Promise<LeaderKey> {
  const req = epb.CampaignRequest.fromPartial({ name: checkName(name), value: toBuffer(value), lease: checkLeaseId(lease) });
  const r = await c.unary(waiting(o), (a, s) => callUnary(s.election.campaign.bind(s.election), req, a));
  return fromLeaderKey(r.leader);
}

export async function proclaim(c: Caller, leader: LeaderKey, value: Bytes, o: CallOptions): Promise<{ revision: number }> {
  const req = epb.ProclaimRequest.fromPartial({ leader: toLeaderKey(leader), value: toBuffer(value) });
  const r = await c.unary(o, (a, s) => callUnary(s.election.proclaim.bind(s.election), req, a));
  return { revision: revisionOf(r.header) };
}

export async function resign(c: Caller, leader: LeaderKey, o: CallOptions): Promise<{ revision: number }> {
  const req = epb.ResignRequest.fromPartial({ leader: toLeaderKey(leader) });
  const r = await c.unary(o, (a, s) => callUnary(s.election.resign.bind(s.election), req, a));
  return { revision: revisionOf(r.header) };
}

/** The current leader's key and value; kv null when nobody leads (etcd's "election: no leader"). */
export async function leader(c: Caller, name: Bytes, o: CallOptions): Promise<LeaderResult> {
  const req = epb.LeaderRequest.fromPartial({ name: checkName(name) });
  try {
    const r = await c.unary(o, (a, s) => callUnary(s.election.leader.bind(s.election), req, a));
    return { revision: revisionOf(r.header), kv: fromKv(r.kv) };
  } catch (e) {
    if (e instanceof ClientError && e.code === ErrorCode.NotFound && e.message === 'election: no leader') return { revision: 0, kv: null };
    throw e;
  }
}

/**
 * Every leadership change of the election (the current leader first, then each new leader or new
 * proclaimed value), until the signal fires. A failed stream is reopened on the next endpoint; the
 * server starts it again with the current leader, so an answer may repeat one seen before.
 */
export async function* observe(c: Caller, name: Bytes, o: { signal?: AbortSignal } = {}): AsyncGenerator<LeaderResult> {
  const req = epb.LeaderRequest.fromPartial({ name: checkName(name) });
  let failures = 0;
  while (true) {
    if (c.isClosed) throw new ClientClosedError();
    if (aborted(o.signal)) throw new ClientAbortedError(o.signal?.reason);
    const stubs = c.endpoints.get();
    const call: ClientReadableStream<epb.LeaderResponse> = stubs.election.observe(req);
    const onAbort = (): void => call.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let failure: RaftkvError | null = null;
    try {
      for await (const r of call as AsyncIterable<epb.LeaderResponse>) {
        failures = 0;
        yield { revision: revisionOf(r.header), kv: fromKv(r.kv) };
      }
    } catch (e) {
      failure = resumableFailure(e, o.signal, c.isClosed);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
    failures++;
    c.endpoints.rotateFrom(stubs.index);
    await backOffBeforeResume(c.policy, failures, failure, o.signal);
  }
}
