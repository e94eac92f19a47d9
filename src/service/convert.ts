/** Conversions between the generated proto messages and the state machine's domain types. */
import { InvalidArgumentError } from '../common/errors.js';
import type * as kv from '../kv/types.js';
import {
  Compare_Result,
  Event_EventType,
  type Compare,
  type DeleteRequest,
  type DeleteResponse,
  type Event,
  type KeyValue,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestId,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from '../gen/raftkv/v1/kv.js';

const EMPTY = new Uint8Array(0);

export function requestIdOf(id: RequestId | undefined): kv.RequestId | null {
  return id === undefined ? null : { clientId: id.clientId, seq: id.seq };
}

export function putOp(r: PutRequest): kv.PutOp {
  // Leases are served through etcd's API (Lease, and its KV.Put); raftkv.v1 does not map the
  // state machine's lease refusals, so it refuses the fields rather than ignoring them.
  if ((r.lease ?? 0) !== 0 || r.ignoreValue === true || r.ignoreLease === true) {
    throw new InvalidArgumentError('put.lease, put.ignore_value and put.ignore_lease are served by the etcd API (etcdserverpb.KV/Put), not by raftkv.v1');
  }
  return { key: r.key, value: r.value, prevKv: r.prevKv };
}

export function deleteOp(r: DeleteRequest): kv.DeleteOp {
  return { key: r.key, rangeEnd: r.rangeEnd, prefix: r.prefix, prevKv: r.prevKv };
}

export function rangeOp(r: RangeRequest): kv.RangeOp {
  // The field exists for the replicated command (etcd's Txn ranges); raftkv.v1 reads the current state.
  if (r.revision > 0) throw new InvalidArgumentError('range.revision is served only by etcd\'s API (etcdserverpb.KV)');
  return { prefix: r.prefix, start: r.start, end: r.end, limit: r.limit, startAfter: r.startAfter, keysOnly: r.keysOnly, countOnly: r.countOnly };
}

const COMPARE_RESULTS: Record<number, kv.CompareResult> = {
  [Compare_Result.EQUAL]: 0,
  [Compare_Result.NOT_EQUAL]: 1,
  [Compare_Result.LESS]: 2,
  [Compare_Result.GREATER]: 3,
};

function compareOf(c: Compare, i: number): kv.Compare {
  const result = COMPARE_RESULTS[c.result];
  if (result === undefined) throw new InvalidArgumentError(`txn.compare[${i}].result ${c.result} is not a known comparison`);
  const t = c.target;
  let target: kv.CompareTarget | null = null;
  if (t?.$case === 'value') target = { kind: 'value', value: t.value };
  else if (t?.$case === 'version') target = { kind: 'version', version: t.version };
  else if (t?.$case === 'createRevision') target = { kind: 'createRevision', createRevision: t.createRevision };
  else if (t?.$case === 'modRevision') target = { kind: 'modRevision', modRevision: t.modRevision };
  else if (t?.$case === 'lease') target = { kind: 'lease', lease: t.lease };
  return c.rangeEnd === undefined ? { key: c.key, result, target } : { key: c.key, result, target, rangeEnd: c.rangeEnd };
}

function requestOpOf(op: RequestOp, where: string): kv.RequestOp {
  const r = op.request;
  if (r?.$case === 'put') return { kind: 'put', put: putOp(r.put) };
  if (r?.$case === 'delete') return { kind: 'delete', delete: deleteOp(r.delete) };
  if (r?.$case === 'range') return { kind: 'range', range: rangeOp(r.range) };
  throw new InvalidArgumentError(`${where} has no operation (put, delete or range)`);
}

export function txnOp(r: TxnRequest): kv.TxnOp {
  return {
    compare: r.compare.map(compareOf),
    success: r.success.map((op, i) => requestOpOf(op, `txn.success[${i}]`)),
    failure: r.failure.map((op, i) => requestOpOf(op, `txn.failure[${i}]`)),
  };
}

export function keyValue(k: kv.KeyValue): KeyValue {
  return { key: buf(k.key), value: buf(k.value), createRevision: k.createRevision, modRevision: k.modRevision, version: k.version };
}

function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function putResponse(r: kv.PutResult, header: ResponseHeader): PutResponse {
  return { header: { ...header, revision: r.revision }, prevKv: r.prevKv ? keyValue(r.prevKv) : undefined };
}

export function deleteResponse(r: kv.DeleteResult, header: ResponseHeader): DeleteResponse {
  return { header: { ...header, revision: r.revision }, deleted: r.deleted, prevKvs: r.prevKvs.map(keyValue) };
}

export function rangeResponse(r: kv.RangeResult, header: ResponseHeader): RangeResponse {
  return { header: { ...header, revision: r.revision }, kvs: r.kvs.map(keyValue), count: r.count, more: r.more, nextStartAfter: buf(r.nextStartAfter ?? EMPTY) };
}

function responseOp(r: kv.OpResult, header: ResponseHeader): ResponseOp {
  if (r.kind === 'put') return { response: { $case: 'put', put: putResponse(r, header) } };
  if (r.kind === 'delete') return { response: { $case: 'delete', delete: deleteResponse(r, header) } };
  if (r.kind === 'txn') return { response: { $case: 'txn', txn: txnResponse(r, header) } };
  return { response: { $case: 'range', range: rangeResponse(r, header) } };
}

export function txnResponse(r: kv.TxnResult, header: ResponseHeader): TxnResponse {
  return { header: { ...header, revision: r.revision }, succeeded: r.succeeded, responses: r.responses.map((x) => responseOp(x, header)) };
}

export function watchEvent(e: kv.WatchEvent, withPrevKv: boolean): Event {
  return {
    type: e.type === 1 ? Event_EventType.DELETE : Event_EventType.PUT,
    kv: keyValue(e.kv),
    prevModRevision: e.prevModRevision,
    prevKv: withPrevKv && e.prevKv ? keyValue(e.prevKv) : undefined,
  };
}
