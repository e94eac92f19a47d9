import * as pb from '../gen/raftkv/v1/kv.js';
import * as cpb from '../gen/raftkv/v1/cluster.js';
import { InvalidArgumentError } from '../common/errors.js';
import type {
  Bytes, ClusterHeader, Compare, Consistency, DeleteResult, DeleteTarget, KeyValue, Member, PutResult,
  RangeOptions, RangeResult, RangeTarget, Suffrage, TxnOp, TxnOpResult, WatchEvent,
} from './types.js';

/** Conversions between the public client types and the generated protobuf messages. */

const EMPTY = Buffer.alloc(0);

export function toBuffer(b: Bytes): Buffer {
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function toConsistency(c: Consistency | undefined): pb.Consistency {
  return c === 'stale' ? pb.Consistency.CONSISTENCY_STALE : pb.Consistency.CONSISTENCY_LINEARIZABLE;
}

export function fromKv(kv: pb.KeyValue | undefined): KeyValue | null {
  if (kv === undefined) return null;
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

export function deleteRequest(target: DeleteTarget, prevKv: boolean): pb.DeleteRequest {
  if (typeof target === 'string' || target instanceof Uint8Array) {
    return pb.DeleteRequest.fromPartial({ key: toBuffer(target), prevKv });
  }
  if ('prefix' in target) {
    const prefix = toBuffer(target.prefix);
    if (prefix.length === 0) throw new InvalidArgumentError('delete by prefix needs a non-empty prefix');
    return pb.DeleteRequest.fromPartial({ prefix, prevKv });
  }
  return pb.DeleteRequest.fromPartial({ key: toBuffer(target.start), rangeEnd: toBuffer(target.end), prevKv });
}

export function rangeRequest(target: RangeTarget, o: RangeOptions): pb.RangeRequest {
  const base = {
    limit: o.limit ?? 0,
    startAfter: o.startAfter === undefined ? EMPTY : toBuffer(o.startAfter),
    keysOnly: o.keysOnly ?? false,
    countOnly: o.countOnly ?? false,
    consistency: toConsistency(o.consistency),
  };
  if ('prefix' in target) return pb.RangeRequest.fromPartial({ ...base, prefix: toBuffer(target.prefix) });
  return pb.RangeRequest.fromPartial({
    ...base, start: toBuffer(target.start), end: target.end === undefined ? EMPTY : toBuffer(target.end),
  });
}

const COMPARE_OPS = {
  '==': pb.Compare_Result.EQUAL,
  '!=': pb.Compare_Result.NOT_EQUAL,
  '<': pb.Compare_Result.LESS,
  '>': pb.Compare_Result.GREATER,
} as const;

export function toCompare(c: Compare): pb.Compare {
  const key = toBuffer(c.key);
  const result = COMPARE_OPS[c.op];
  if (c.target === 'value') {
    if (typeof c.value === 'number') throw new InvalidArgumentError('a value compare needs bytes, not a number');
    return { key, result, target: { $case: 'value', value: toBuffer(c.value) } };
  }
  if (typeof c.value !== 'number' || !Number.isSafeInteger(c.value) || c.value < 0) {
    throw new InvalidArgumentError(`a ${c.target} compare needs a non-negative integer`);
  }
  switch (c.target) {
    case 'version': return { key, result, target: { $case: 'version', version: c.value } };
    case 'createRevision': return { key, result, target: { $case: 'createRevision', createRevision: c.value } };
    case 'modRevision': return { key, result, target: { $case: 'modRevision', modRevision: c.value } };
  }
}

export function toRequestOp(op: TxnOp): pb.RequestOp {
  switch (op.type) {
    case 'put':
      return { request: { $case: 'put', put: pb.PutRequest.fromPartial({ key: toBuffer(op.key), value: toBuffer(op.value), prevKv: op.prevKv ?? false }) } };
    case 'delete':
      return { request: { $case: 'delete', delete: deleteRequest(op.target, op.prevKv ?? false) } };
    case 'range':
      return { request: { $case: 'range', range: rangeRequest(op.target, op.options ?? {}) } };
  }
}

export function revisionOf(h: pb.ResponseHeader | undefined): number {
  return h?.revision ?? 0;
}

export function fromPut(r: pb.PutResponse): PutResult {
  return { revision: revisionOf(r.header), prevKv: fromKv(r.prevKv) };
}

export function fromDelete(r: pb.DeleteResponse): DeleteResult {
  return { revision: revisionOf(r.header), deleted: r.deleted, prevKvs: r.prevKvs.map((kv) => fromKv(kv) as KeyValue) };
}

export function fromRange(r: pb.RangeResponse): RangeResult {
  return {
    revision: revisionOf(r.header),
    kvs: r.kvs.map((kv) => fromKv(kv) as KeyValue),
    count: r.count,
    more: r.more,
    nextStartAfter: r.more && r.nextStartAfter.length > 0 ? r.nextStartAfter : null,
  };
}

export function fromResponseOp(op: pb.ResponseOp): TxnOpResult {
  const r = op.response;
  if (r === undefined) throw new InvalidArgumentError('server sent an empty txn response op');
  switch (r.$case) {
    case 'put': return { type: 'put', result: fromPut(r.put) };
    case 'delete': return { type: 'delete', result: fromDelete(r.delete) };
    case 'range': return { type: 'range', result: fromRange(r.range) };
    // Nested txns exist for etcd's API (the shared state machine); raftkv.v1 never sends them.
    case 'txn': throw new InvalidArgumentError('server sent a nested txn response, which raftkv.v1 does not use');
  }
}

export function fromEvent(e: pb.Event): WatchEvent {
  const kv = fromKv(e.kv) ?? { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0, version: 0 };
  return {
    type: e.type === pb.Event_EventType.DELETE ? 'delete' : 'put',
    kv,
    prevModRevision: e.prevModRevision,
    prevKv: fromKv(e.prevKv),
  };
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
