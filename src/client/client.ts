import * as pb from '../gen/etcd/etcdserverpb/rpc.js';
import { InvalidArgumentError } from '../common/errors.js';
import * as admin from './admin.js';
import { Caller } from './caller.js';
import {
  deleteRequest, fromDelete, fromKv, fromPut, fromRange, fromResponseOp, putRequest, rangeRequest, revisionOf, toBuffer, toCompare, toRequestOp,
} from './convert.js';
import { Endpoints, callUnary } from './endpoints.js';
import { checkKey, checkRequestBytes, checkTxn, checkValue } from './limits.js';
import * as lease from './lease.js';
import { LeaseSession } from './lease-session.js';
import * as recipes from './recipes.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { newClientId } from './sessions.js';
import type { ClientTls } from './tls.js';
import type {
  Bytes, CallOptions, CasResult, CompactResult, ConfChangeResult, Consistency, DeleteResult, DeleteTarget, GetResult, KeepAliveResult,
  KeyringOperation, KeyringResult, LeaderKey, LeaderResult, LeaseGrantResult, LeaseListResult, LeaseTimeToLiveResult, LockResult,
  MembersResult, PutOptions, PutResult, RangeOptions, RangeResult, RangeTarget, SnapshotResult, StatusResult, TransferResult,
  TxnRequest, TxnResult, WatchBatch, WatchOptions, WatchTarget,
} from './types.js';
import { watchStream } from './watch.js';

export interface RaftkvClientOptions {
  /** host:port of any cluster members; calls go to one and fail over to the next. */
  readonly endpoints: readonly string[];
  /** Deadline of a call (retries included) when the call does not give `timeoutMs`. */
  readonly defaultTimeoutMs?: number;
  /** Request-id prefix for writes (printable ASCII); random per client instance by default. */
  readonly clientId?: string;
  readonly retry?: Partial<RetryPolicy>;
  /** Writes in flight at once on this client (each holds a request-id session). */
  readonly writesInFlightMax?: number;
  /** TLS (etcdctl's --cacert/--cert/--key); absent: plaintext. */
  readonly tls?: ClientTls;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_WRITES_IN_FLIGHT_MAX = 1024;

/**
 * A typed client of a raftkv cluster. Data goes over etcd's v3 API (KV, Watch, Lease, Lock,
 * Election), the API every member serves; cluster administration over raftkv.v1.Cluster.
 */
export class RaftkvClient {
  readonly clientId: string;
  private readonly c: Caller;

  constructor(options: RaftkvClientOptions) {
    this.clientId = options.clientId ?? newClientId();
    this.c = new Caller(
      new Endpoints(options.endpoints, options.tls),
      { ...DEFAULT_RETRY_POLICY, ...options.retry },
      options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      this.clientId,
      options.writesInFlightMax ?? DEFAULT_WRITES_IN_FLIGHT_MAX,
    );
  }

  async put(key: Bytes, value: Bytes, o: CallOptions & PutOptions = {}): Promise<PutResult> {
    const k = toBuffer(key);
    const v = toBuffer(value);
    checkKey(k);
    checkValue(v);
    const req = putRequest(k, v, o);
    checkRequestBytes(pb.PutRequest.encode(req).finish().length);
    return fromPut(await this.c.write(o, (a, s, md) => callUnary(s.kv.put.bind(s.kv), req, a, md)));
  }

  async get(key: Bytes, o: CallOptions & { consistency?: Consistency } = {}): Promise<GetResult> {
    const k = toBuffer(key);
    const req = pb.RangeRequest.fromPartial({ key: k, serializable: o.consistency === 'stale' });
    const r = await this.c.unary(o, (a, s) => callUnary(s.kv.range.bind(s.kv), req, a));
    return { revision: revisionOf(r.header), kv: fromKv(r.kvs[0]) };
  }

  async delete(target: DeleteTarget, o: CallOptions & { prevKv?: boolean } = {}): Promise<DeleteResult> {
    const req = deleteRequest(target, o.prevKv ?? false);
    return fromDelete(await this.c.write(o, (a, s, md) => callUnary(s.kv.deleteRange.bind(s.kv), req, a, md)));
  }

  /** One page of keys; `nextStartAfter` continues it. */
  async range(target: RangeTarget, o: CallOptions & RangeOptions = {}): Promise<RangeResult> {
    const req = rangeRequest(target, o);
    return fromRange(await this.c.unary(o, (a, s) => callUnary(s.kv.range.bind(s.kv), req, a)));
  }

  async txn(t: TxnRequest, o: CallOptions = {}): Promise<TxnResult> {
    const req = pb.TxnRequest.fromPartial({
      compare: t.compare.map(toCompare),
      success: t.success.map(toRequestOp),
      failure: (t.failure ?? []).map(toRequestOp),
    });
    checkTxn(req);
    checkRequestBytes(pb.TxnRequest.encode(req).finish().length);
    const r = await this.c.write(o, (a, s, md) => callUnary(s.kv.txn.bind(s.kv), req, a, md));
    return { revision: revisionOf(r.header), succeeded: r.succeeded, responses: r.responses.map(fromResponseOp) };
  }

  /** Sets `key` to `next` only if its value is `expected` (null: only if it is absent). */
  async cas(key: Bytes, expected: Bytes | null, next: Bytes, o: CallOptions = {}): Promise<CasResult> {
    const compare = expected === null
      ? { key, target: 'version' as const, op: '==' as const, value: 0 }
      : { key, target: 'value' as const, op: '==' as const, value: expected };
    const r = await this.txn({ compare: [compare], success: [{ type: 'put', key, value: next }], failure: [{ type: 'range', target: { start: key, end: Buffer.concat([toBuffer(key), Buffer.of(0)]) } }] }, o);
    if (r.succeeded) return { revision: r.revision, succeeded: true, current: null };
    const read = r.responses[0];
    const current = read?.type === 'range' ? (read.result.kvs[0] ?? null) : null;
    return { revision: r.revision, succeeded: false, current };
  }

  /** Changes to a key or a prefix, in revision order; resumes on another endpoint after a failure. */
  watch(target: WatchTarget, o: WatchOptions = {}): AsyncIterable<WatchBatch> {
    this.c.assertOpen();
    return watchStream({ endpoints: this.c.endpoints, policy: this.c.policy, isClosed: () => this.c.isClosed }, target, o);
  }

  /**
   * Discards the history before `revision` (etcd's Compact). A server without it answers with
   * UnimplementedError (code FAILED_PRECONDITION). `physical` waits until the space is reclaimed.
   */
  async compact(revision: number, o: CallOptions & { physical?: boolean } = {}): Promise<CompactResult> {
    if (!Number.isSafeInteger(revision) || revision < 1) throw new InvalidArgumentError(`compaction revision must be a positive integer, got ${revision}`);
    const req = pb.CompactionRequest.fromPartial({ revision, physical: o.physical ?? false });
    const r = await this.c.unary(o, (a, s) => callUnary(s.kv.compact.bind(s.kv), req, a));
    return { revision: revisionOf(r.header) };
  }

  leaseGrant(ttlSeconds: number, o: CallOptions & { id?: number } = {}): Promise<LeaseGrantResult> {
    return lease.leaseGrant(this.c, ttlSeconds, o);
  }

  /** Ends the lease now and deletes every key attached to it. */
  leaseRevoke(id: number, o: CallOptions = {}): Promise<{ revision: number }> {
    return lease.leaseRevoke(this.c, id, o);
  }

  /** Seconds left (-1: no such lease) and, with `keys`, the attached keys. */
  leaseTimeToLive(id: number, o: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResult> {
    return lease.leaseTimeToLive(this.c, id, o);
  }

  leases(o: CallOptions = {}): Promise<LeaseListResult> {
    return lease.leaseList(this.c, o);
  }

  /** Renews the lease once; LeaseExpiredError if it is gone. */
  leaseKeepAliveOnce(id: number, o: CallOptions = {}): Promise<KeepAliveResult> {
    return lease.leaseKeepAliveOnce(this.c, id, o);
  }

  /** Renews the lease every `intervalMs` (default TTL/3) until the signal fires; yields each renewal. */
  leaseKeepAlive(id: number, o: lease.KeepAliveOptions = {}): AsyncIterable<KeepAliveResult> {
    this.c.assertOpen();
    return lease.leaseKeepAlive(this.c, id, o);
  }

  /** A lease granted now and kept alive in the background until `close()`; for locks and campaigns. */
  session(o: CallOptions & { ttlSeconds?: number } = {}): Promise<LeaseSession> {
    return LeaseSession.open(this.c, o);
  }

  /** Waits until the lock `name` is held by `lease` (no deadline unless `timeoutMs`); the key releases it. */
  lock(name: Bytes, leaseId: number, o: CallOptions = {}): Promise<LockResult> {
    return recipes.lock(this.c, name, leaseId, o);
  }

  unlock(key: Bytes, o: CallOptions = {}): Promise<{ revision: number }> {
    return recipes.unlock(this.c, key, o);
  }

  /** Waits until `lease` leads election `name` with `value` proclaimed (no deadline unless `timeoutMs`). */
  campaign(name: Bytes, value: Bytes, leaseId: number, o: CallOptions = {}): Promise<LeaderKey> {
    return recipes.campaign(this.c, name, value, leaseId, o);
  }

  proclaim(leader: LeaderKey, value: Bytes, o: CallOptions = {}): Promise<{ revision: number }> {
    return recipes.proclaim(this.c, leader, value, o);
  }

  resign(leader: LeaderKey, o: CallOptions = {}): Promise<{ revision: number }> {
    return recipes.resign(this.c, leader, o);
  }

  leader(name: Bytes, o: CallOptions = {}): Promise<LeaderResult> {
    return recipes.leader(this.c, name, o);
  }

  observe(name: Bytes, o: { signal?: AbortSignal } = {}): AsyncIterable<LeaderResult> {
    this.c.assertOpen();
    return recipes.observe(this.c, name, o);
  }

  members(o: CallOptions & { linearizable?: boolean } = {}): Promise<MembersResult> {
    return admin.members(this.c, o);
  }

  status(o: CallOptions = {}): Promise<StatusResult> {
    return admin.status(this.c, o);
  }

  addVoter(id: number, raftAddress: string, o: CallOptions & { grpcAddress?: string } = {}): Promise<ConfChangeResult> {
    return admin.addMember(this.c, true, id, raftAddress, o);
  }

  addNonvoter(id: number, raftAddress: string, o: CallOptions & { grpcAddress?: string } = {}): Promise<ConfChangeResult> {
    return admin.addMember(this.c, false, id, raftAddress, o);
  }

  removeServer(id: number, o: CallOptions = {}): Promise<ConfChangeResult> {
    return admin.removeServer(this.c, id, o);
  }

  /** Moves leadership to `targetId`, or (0 / absent) to the most up-to-date voter. */
  transferLeader(targetId = 0, o: CallOptions = {}): Promise<TransferResult> {
    return admin.transferLeader(this.c, targetId, o);
  }

  snapshot(o: CallOptions = {}): Promise<SnapshotResult> {
    return admin.snapshot(this.c, o);
  }

  /**
   * Gossip keys on every alive member (or only the answering one with `localOnly`), as `consul
   * keyring`: list, install a key, use it (make it primary), remove one. Every operation is
   * idempotent, so retries are safe; the answer lists each member's outcome.
   */
  keyring(op: KeyringOperation, key = '', o: CallOptions & { localOnly?: boolean } = {}): Promise<KeyringResult> {
    return admin.keyring(this.c, op, key, o);
  }

  /** Closes every connection; calls in flight fail, new calls throw ClientClosedError. */
  close(): void {
    this.c.close();
  }
}
