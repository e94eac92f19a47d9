import * as pb from '../gen/raftkv/v1/kv.js';
import * as cpb from '../gen/raftkv/v1/cluster.js';
import { InvalidArgumentError } from '../common/errors.js';
import {
  deleteRequest, fromClusterHeader, fromDelete, fromKv, fromMember, fromPut, fromRange, fromResponseOp,
  rangeRequest, revisionOf, toBuffer, toCompare, toConsistency, toRequestOp,
} from './convert.js';
import { Endpoints, callUnary, type UnaryMethod } from './endpoints.js';
import { ClientClosedError } from './errors.js';
import type { ClientTls } from './tls.js';
import { checkKey, checkRequestBytes, checkTxn, checkValue } from './limits.js';
import { DEFAULT_RETRY_POLICY, withRetries, type Attempt, type RetryPolicy } from './retry.js';
import { WriteSessions, newClientId, type WriteId } from './sessions.js';
import { watchStream, type WatchDeps } from './watch.js';
import type {
  Bytes, CallOptions, CasResult, ConfChangeResult, Consistency, DeleteResult, DeleteTarget, GetResult,
  KeyringOperation, KeyringResult, MembersResult, PutResult, RangeOptions, RangeResult, RangeTarget, SnapshotResult, StatusResult,
  TransferResult, TxnRequest, TxnResult, WatchBatch, WatchOptions, WatchTarget,
} from './types.js';

export interface RaftkvClientOptions {
  /** host:port of any cluster members; calls go to one and fail over to the next. */
  readonly endpoints: readonly string[];
  /** Deadline of a call (retries included) when the call does not give `timeoutMs`. */
  readonly defaultTimeoutMs?: number;
  /** Request-id prefix for writes; random per client instance by default. */
  readonly clientId?: string;
  readonly retry?: Partial<RetryPolicy>;
  /** Writes in flight at once on this client (each holds a request-id session). */
  readonly writesInFlightMax?: number;
  /** TLS (etcdctl's --cacert/--cert/--key); absent: plaintext. */
  readonly tls?: ClientTls;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_WRITES_IN_FLIGHT_MAX = 1024;

type KVStub = ReturnType<Endpoints['get']>['kv'];
type ClusterStub = ReturnType<Endpoints['get']>['cluster'];

/** A typed client of a raftkv cluster. */
export class RaftkvClient {
  readonly clientId: string;
  private readonly endpoints: Endpoints;
  private readonly defaultTimeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly sessions: WriteSessions;
  private closed = false;

  constructor(options: RaftkvClientOptions) {
    this.endpoints = new Endpoints(options.endpoints, options.tls);
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.defaultTimeoutMs > 0)) throw new InvalidArgumentError('defaultTimeoutMs must be positive');
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clientId = options.clientId ?? newClientId();
    this.sessions = new WriteSessions(this.clientId, options.writesInFlightMax ?? DEFAULT_WRITES_IN_FLIGHT_MAX);
  }

  async put(key: Bytes, value: Bytes, o: CallOptions & { prevKv?: boolean } = {}): Promise<PutResult> {
    const k = toBuffer(key);
    const v = toBuffer(value);
    checkKey(k);
    checkValue(v);
    const r = await this.write(o, (requestId) => {
      const req = pb.PutRequest.fromPartial({ key: k, value: v, prevKv: o.prevKv ?? false, requestId });
      checkRequestBytes(pb.PutRequest.encode(req).finish().length);
      return req;
    }, (kv) => kv.put.bind(kv));
    return fromPut(r);
  }

  async get(key: Bytes, o: CallOptions & { consistency?: Consistency } = {}): Promise<GetResult> {
    const req = pb.GetRequest.fromPartial({ key: toBuffer(key), consistency: toConsistency(o.consistency) });
    const r = await this.kvCall(o, req, (kv) => kv.get.bind(kv));
    return { revision: revisionOf(r.header), kv: fromKv(r.kv) };
  }

  async delete(target: DeleteTarget, o: CallOptions & { prevKv?: boolean } = {}): Promise<DeleteResult> {
    const base = deleteRequest(target, o.prevKv ?? false);
    const r = await this.write(o, (requestId) => ({ ...base, requestId }), (kv) => kv.delete.bind(kv));
    return fromDelete(r);
  }

  async range(target: RangeTarget, o: CallOptions & RangeOptions = {}): Promise<RangeResult> {
    const r = await this.kvCall(o, rangeRequest(target, o), (kv) => kv.range.bind(kv));
    return fromRange(r);
  }

  async txn(t: TxnRequest, o: CallOptions = {}): Promise<TxnResult> {
    const base = {
      compare: t.compare.map(toCompare),
      success: t.success.map(toRequestOp),
      failure: (t.failure ?? []).map(toRequestOp),
    };
    checkTxn(base);
    const r = await this.write(o, (requestId) => {
      const req = pb.TxnRequest.fromPartial({ ...base, requestId });
      checkRequestBytes(pb.TxnRequest.encode(req).finish().length);
      return req;
    }, (kv) => kv.txn.bind(kv));
    return { revision: revisionOf(r.header), succeeded: r.succeeded, responses: r.responses.map(fromResponseOp) };
  }

  /** Sets `key` to `next` only if its value is `expected` (null: only if it is absent). */
  async cas(key: Bytes, expected: Bytes | null, next: Bytes, o: CallOptions = {}): Promise<CasResult> {
    const compare = expected === null
      ? { key, target: 'version' as const, op: '==' as const, value: 0 }
      : { key, target: 'value' as const, op: '==' as const, value: expected };
    const r = await this.txn({
      compare: [compare],
      success: [{ type: 'put', key, value: next }],
      failure: [{ type: 'range', target: { start: key, end: Buffer.concat([toBuffer(key), Buffer.from([0])]) } }],
    }, o);
    if (r.succeeded) return { revision: r.revision, succeeded: true, current: null };
    const read = r.responses[0];
    const current = read?.type === 'range' ? (read.result.kvs[0] ?? null) : null;
    return { revision: r.revision, succeeded: false, current };
  }

  /** Changes to a key or a prefix, in revision order; resumes on another endpoint after a failure. */
  watch(target: WatchTarget, o: WatchOptions = {}): AsyncIterable<WatchBatch> {
    this.assertOpen();
    const deps: WatchDeps = {
      endpoints: this.endpoints, policy: this.policy, isClosed: () => this.closed,
    };
    return watchStream(deps, target, o);
  }

  async members(o: CallOptions & { linearizable?: boolean } = {}): Promise<MembersResult> {
    const req = cpb.MembersRequest.fromPartial({ linearizable: o.linearizable ?? false });
    const r = await this.clusterCall(o, req, (c) => c.members.bind(c));
    return { header: fromClusterHeader(r.header), members: r.members.map(fromMember) };
  }

  async status(o: CallOptions = {}): Promise<StatusResult> {
    const r = await this.clusterCall(o, cpb.StatusRequest.fromPartial({}), (c) => c.status.bind(c));
    const { header, ...rest } = r;
    return { ...rest, header: fromClusterHeader(header) };
  }

  async addVoter(id: number, raftAddress: string, o: CallOptions & { grpcAddress?: string } = {}): Promise<ConfChangeResult> {
    const req = cpb.AddVoterRequest.fromPartial({ id: checkId(id), raftAddress, grpcAddress: o.grpcAddress ?? '' });
    const r = await this.clusterCall(o, req, (c) => c.addVoter.bind(c));
    return { header: fromClusterHeader(r.header), index: r.index };
  }

  async addNonvoter(id: number, raftAddress: string, o: CallOptions & { grpcAddress?: string } = {}): Promise<ConfChangeResult> {
    const req = cpb.AddNonvoterRequest.fromPartial({ id: checkId(id), raftAddress, grpcAddress: o.grpcAddress ?? '' });
    const r = await this.clusterCall(o, req, (c) => c.addNonvoter.bind(c));
    return { header: fromClusterHeader(r.header), index: r.index };
  }

  async removeServer(id: number, o: CallOptions = {}): Promise<ConfChangeResult> {
    const req = cpb.RemoveServerRequest.fromPartial({ id: checkId(id) });
    const r = await this.clusterCall(o, req, (c) => c.removeServer.bind(c));
    return { header: fromClusterHeader(r.header), index: r.index };
  }

  /** Moves leadership to `targetId`, or (0 / absent) to the most up-to-date voter. */
  async transferLeader(targetId = 0, o: CallOptions = {}): Promise<TransferResult> {
    const req = cpb.TransferLeadershipRequest.fromPartial({ targetId: targetId === 0 ? 0 : checkId(targetId) });
    const r = await this.clusterCall(o, req, (c) => c.transferLeadership.bind(c));
    return { header: fromClusterHeader(r.header), newLeaderId: r.newLeaderId };
  }

  async snapshot(o: CallOptions = {}): Promise<SnapshotResult> {
    const r = await this.clusterCall(o, cpb.SnapshotRequest.fromPartial({}), (c) => c.snapshot.bind(c));
    return { header: fromClusterHeader(r.header), index: r.index, term: r.term, sizeBytes: r.sizeBytes };
  }

  /**
   * Gossip keys on every alive member (or only the answering one with `localOnly`), as `consul
   * keyring`: list, install a key, use it (make it primary), remove one. Every operation is
   * idempotent, so retries are safe; the answer lists each member's outcome.
   */
  async keyring(op: KeyringOperation, key = '', o: CallOptions & { localOnly?: boolean } = {}): Promise<KeyringResult> {
    const ops = { list: cpb.KeyringOp.KEYRING_OP_LIST, install: cpb.KeyringOp.KEYRING_OP_INSTALL, use: cpb.KeyringOp.KEYRING_OP_USE, remove: cpb.KeyringOp.KEYRING_OP_REMOVE };
    const req = cpb.KeyringRequest.fromPartial({ op: ops[op], key, localOnly: o.localOnly ?? false });
    const r = await this.clusterCall(o, req, (c) => c.keyring.bind(c));
    return { header: fromClusterHeader(r.header), members: r.members.map((m) => ({ id: m.id, grpcAddress: m.grpcAddress, ok: m.ok, error: m.error, fingerprints: [...m.fingerprints] })) };
  }

  /** Closes every connection; calls in flight fail, new calls throw ClientClosedError. */
  close(): void {
    this.closed = true;
    this.endpoints.close();
  }

  /**
   * A write: the request (with its request id) is built ONCE, and every retry resends that same
   * object, so the server applies the write at most once whichever attempt got through.
   */
  private async write<Req, Res>(
    o: CallOptions,
    build: (requestId: pb.RequestId) => Req,
    pick: (kv: KVStub) => UnaryMethod<Req, Res>,
  ): Promise<Res> {
    this.assertOpen();
    const id: WriteId = this.sessions.acquire();
    try {
      const request = build({ clientId: id.clientId, seq: id.seq });
      return await this.kvCall(o, request, pick);
    } finally {
      this.sessions.release(id);
    }
  }

  private kvCall<Req, Res>(o: CallOptions, request: Req, pick: (kv: KVStub) => UnaryMethod<Req, Res>): Promise<Res> {
    return this.unary(o, (a, stubs) => callUnary(pick(stubs.kv), request, a));
  }

  private clusterCall<Req, Res>(o: CallOptions, request: Req, pick: (c: ClusterStub) => UnaryMethod<Req, Res>): Promise<Res> {
    return this.unary(o, (a, stubs) => callUnary(pick(stubs.cluster), request, a));
  }

  private unary<Res>(o: CallOptions, run: (a: Attempt, stubs: ReturnType<Endpoints['get']>) => Promise<Res>): Promise<Res> {
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

  private assertOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }
}

function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError(`bad server id ${id}: expected a positive integer`);
  return id;
}
