import * as pb from '../gen/etcd/etcdserverpb/rpc.js';
import * as mvcc from '../gen/etcd/mvccpb/kv.js';
import * as cpb from '../gen/raftkv/v1/cluster.js';
import { InvalidArgumentError } from '../common/errors.js';
import type {
  Bytes, ClusterHeader, Compare, DeleteResult, DeleteTarget, KeyValue, Member, PutOptions, PutResult,
  RangeOptions, RangeResult, RangeTarget, Suffrage, TxnOp, TxnOpResult, WatchEvent, WatchTarget,
} from './types.js';

/**
 * Conversions between the public client types and etcd's v3 messages (and raftkv.v1's Cluster
 * messages for administration). etcd names ranges by [key, range_end): a prefix is [p, p+1), "\0" as
 * range_end means "to the last key", and "\0" as key is the first key there can be.
 */

const EMPTY = Buffer.alloc(0);
const ZERO = Buffer.of(0);

export function toBuffer(b: Bytes): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The end of the prefix range: the prefix with its last byte below 0xff incremented, "\0" if none is. */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if ((prefix[i] as number) < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = (prefix[i] as number) + 1;
      return end;
    }
  }
  return ZERO;
}

/** [key, rangeEnd) of a prefix ("" is every key). */
export function prefixSpan(prefix: Bytes): { key: Buffer; rangeEnd: Buffer } {
  const p = toBuffer(prefix);
  return p.length === 0 ? { key: ZERO, rangeEnd: ZERO } : { key: p, rangeEnd: prefixEnd(p) };
}

export function fromKv(kv: mvcc.KeyValue | undefined): KeyValue | null {
  if (kv === undefined) return null;
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

export function putRequest(key: Buffer, value: Buffer, o: PutOptions): pb.PutRequest {
  return pb.PutRequest.fromPartial({ key, value, prevKv: o.prevKv ?? false, lease: checkLeaseId(o.lease ?? 0, true) });
}

export function deleteRequest(target: DeleteTarget, prevKv: boolean): pb.DeleteRangeRequest {
  if (typeof target === 'string' || target instanceof Uint8Array) {
    return pb.DeleteRangeRequest.fromPartial({ key: toBuffer(target), prevKv });
  }
  if ('prefix' in target) {
    const prefix = toBuffer(target.prefix);
    if (prefix.length === 0) throw new InvalidArgumentError('delete by prefix needs a non-empty prefix');
    return pb.DeleteRangeRequest.fromPartial({ ...prefixSpan(prefix), prevKv });
  }
  return pb.DeleteRangeRequest.fromPartial({ key: toBuffer(target.start), rangeEnd: toBuffer(target.end), prevKv });
}

/** A page of a range; `startAfter` continues at the first key after it (the next key is key + "\0"). */
export function rangeRequest(target: RangeTarget, o: RangeOptions): pb.RangeRequest {
  const span = 'prefix' in target
    ? prefixSpan(target.prefix)
    : { key: toBuffer(target.start), rangeEnd: target.end === undefined ? ZERO : toBuffer(target.end) };
  const rangeEnd = span.rangeEnd;
  let key = span.key.length === 0 ? ZERO : span.key;
  if (o.startAfter !== undefined) {
    const next = Buffer.concat([toBuffer(o.startAfter), ZERO]);
    if (Buffer.compare(next, key) > 0) key = next;
  }
  if (o.limit !== undefined && (!Number.isSafeInteger(o.limit) || o.limit < 0)) throw new InvalidArgumentError(`limit must be a non-negative integer, got ${o.limit}`);
  return pb.RangeRequest.fromPartial({
    key, rangeEnd,
    limit: o.limit ?? 0,
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    serializable: o.consistency === 'stale',
  });
}

export function watchSpan(target: WatchTarget): { key: Buffer; rangeEnd: Buffer } {
  if (typeof target === 'object' && !(target instanceof Uint8Array)) return prefixSpan(target.prefix);
  return { key: toBuffer(target), rangeEnd: EMPTY };
}

const COMPARE_OPS = {
  '==': pb.Compare_CompareResult.Equal,
  '!=': pb.Compare_CompareResult.NotEqual,
  '<': pb.Compare_CompareResult.Less,
  '>': pb.Compare_CompareResult.Greater,
} as const;

export function toCompare(c: Compare): pb.Compare {
  const key = toBuffer(c.key);
  const result = COMPARE_OPS[c.op];
  const base = { key, result, rangeEnd: EMPTY };
  if (c.target === 'value') {
    if (typeof c.value === 'number') throw new InvalidArgumentError('a value compare needs bytes, not a number');
    return { ...base, target: pb.Compare_CompareTarget.Value, targetUnion: { $case: 'value', value: toBuffer(c.value) } };
  }
  if (typeof c.value !== 'number' || !Number.isSafeInteger(c.value) || c.value < 0) {
    throw new InvalidArgumentError(`a ${c.target} compare needs a non-negative integer`);
  }
  switch (c.target) {
    case 'version': return { ...base, target: pb.Compare_CompareTarget.Version, targetUnion: { $case: 'version', version: c.value } };
    case 'createRevision': return { ...base, target: pb.Compare_CompareTarget.Create, targetUnion: { $case: 'createRevision', createRevision: c.value } };
    case 'modRevision': return { ...base, target: pb.Compare_CompareTarget.Mod, targetUnion: { $case: 'modRevision', modRevision: c.value } };
    case 'lease': return { ...base, target: pb.Compare_CompareTarget.Lease, targetUnion: { $case: 'lease', lease: c.value } };
  }
}

export function toRequestOp(op: TxnOp): pb.RequestOp {
  switch (op.type) {
    case 'put':
      return { request: { $case: 'requestPut', requestPut: putRequest(toBuffer(op.key), toBuffer(op.value), op) } };
    case 'delete':
      return { request: { $case: 'requestDeleteRange', requestDeleteRange: deleteRequest(op.target, op.prevKv ?? false) } };
    case 'range':
      return { request: { $case: 'requestRange', requestRange: rangeRequest(op.target, op.options ?? {}) } };
  }
}

export function revisionOf(h: pb.ResponseHeader | undefined): number {
  return h?.revision ?? 0;
}

export function fromPut(r: pb.PutResponse): PutResult {
  return { revision: revisionOf(r.header), prevKv: fromKv(r.prevKv) };
}

export function fromDelete(r: pb.DeleteRangeResponse): DeleteResult {
  return { revision: revisionOf(r.header), deleted: r.deleted, prevKvs: r.prevKvs.map((kv) => fromKv(kv) as KeyValue) };
}

export function fromRange(r: pb.RangeResponse): RangeResult {
  const kvs = r.kvs.map((kv) => fromKv(kv) as KeyValue);
  const last = kvs[kvs.length - 1];
  return { revision: revisionOf(r.header), kvs, count: r.count, more: r.more, nextStartAfter: r.more && last !== undefined ? last.key : null };
}

export function fromResponseOp(op: pb.ResponseOp): TxnOpResult {
  const r = op.response;
  if (r === undefined) throw new InvalidArgumentError('server sent an empty txn response op');
  switch (r.$case) {
    case 'responsePut': return { type: 'put', result: fromPut(r.responsePut) };
    case 'responseDeleteRange': return { type: 'delete', result: fromDelete(r.responseDeleteRange) };
    case 'responseRange': return { type: 'range', result: fromRange(r.responseRange) };
    // The client never sends a nested txn, so the server never answers one.
    case 'responseTxn': throw new InvalidArgumentError('server sent a nested txn response to a txn without one');
  }
}

export function fromEvent(e: mvcc.Event): WatchEvent {
  const kv = fromKv(e.kv) ?? { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0, version: 0, lease: 0 };
  return {
    type: e.type === mvcc.Event_EventType.Delete ? 'delete' : 'put',
    kv,
    // etcd's events do not carry it; the previous state does, when the watch asked for it.
    prevModRevision: e.prevKv?.modRevision ?? 0,
    prevKv: fromKv(e.prevKv),
  };
}

/** Lease ids are positive and below 2^53 (the generated code carries int64 as a JS number). */
export function checkLeaseId(id: number, zeroAllowed = false): number {
  if (!Number.isSafeInteger(id) || id < 0 || (id === 0 && !zeroAllowed)) {
    throw new InvalidArgumentError(`bad lease id ${id}: expected an integer in 1..${Number.MAX_SAFE_INTEGER}`);
  }
  return id;
}

export function fromClusterHeader(h: cpb.ClusterHeader | undefined): ClusterHeader {
  return { raftTerm: h?.raftTerm ?? 0, memberId: h?.memberId ?? 0, leaderId: h?.leaderId ?? 0 };
}

function fromSuffrage(s: cpb.Suffrage): Suffrage {
  if (s === cpb.Suffrage.SUFFRAGE_VOTER) return 'voter';
  if (s === cpb.Suffrage.SUFFRAGE_NONVOTER) return 'nonvoter';
  return 'unknown';
}

export function fromMember(m: cpb.Member): Member {
  return {
    id: m.id, raftAddress: m.raftAddress, grpcAddress: m.grpcAddress, suffrage: fromSuffrage(m.suffrage),
    leader: m.leader, lastContactMs: m.lastContactMs, matchIndex: m.matchIndex,
  };
}
