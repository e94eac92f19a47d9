/** etcd's KV messages to and from the state machine's domain types, with etcd's request checks. */
import { InvalidArgumentError } from '../../common/errors.js';
import { Limits } from '../../common/limits.js';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  type Compare,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  TxnRequest,
  type TxnResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import type { KeyValue } from '../../gen/etcd/mvccpb/kv.js';
import type * as kv from '../../kv/types.js';
import { EtcdError } from './errors.js';
import { keySpan, spanContains, spanRangeOp, type KeySpan } from './keys.js';
import { readsWholeRange, shapeRange } from './range.js';

const EMPTY = Buffer.alloc(0);

export function etcdKeyValue(k: kv.KeyValue): KeyValue {
  return { key: buf(k.key), value: buf(k.value), createRevision: k.createRevision, modRevision: k.modRevision, version: k.version, lease: k.lease ?? 0 };
}

function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * etcd's checkPutRequest. Whether the lease exists, and whether the key exists for ignore_value /
 * ignore_lease, the state machine decides when it applies the put (a `rejected` result).
 */
export function putOp(r: PutRequest): kv.PutOp {
  if (r.key.length === 0) throw new EtcdError('keyNotProvided');
  if (r.ignoreValue && r.value.length > 0) throw new EtcdError('valueProvided');
  if (r.ignoreLease && r.lease !== 0) throw new EtcdError('leaseProvided');
  if (r.lease < 0) throw new EtcdError('leaseNotFound');
  return {
    key: r.key, value: r.value, prevKv: r.prevKv,
    ...(r.lease !== 0 ? { lease: r.lease } : {}),
    ...(r.ignoreValue ? { ignoreValue: true } : {}),
    ...(r.ignoreLease ? { ignoreLease: true } : {}),
  };
}

export function deleteOp(r: DeleteRangeRequest): kv.DeleteOp | null {
  if (r.key.length === 0) throw new EtcdError('keyNotProvided');
  const span = keySpan(r.key, r.rangeEnd);
  if (span.kind === 'empty') return null;
  if (span.kind === 'single') return { key: r.key, rangeEnd: EMPTY, prefix: EMPTY, prevKv: r.prevKv };
  if (span.end === null) throw new InvalidArgumentError('delete_range with range_end "\\0" (every key from key on) is not supported yet');
  return { key: span.start, rangeEnd: span.end, prefix: EMPTY, prevKv: r.prevKv };
}

/**
 * A Range inside a Txn: the store's page rules, at `revision` when set. With sorting or min/max revision filters the state
 * machine reads the whole range (one store page) and the response is filtered, sorted and cut to
 * `limit` here (shapeRange), as a top-level Range is; clientv3's Mutex and Election need that
 * (their owner read is prefix + sort by create revision + limit 1, inside a Txn).
 */
function txnRangeOp(r: RangeRequest): kv.RangeOp {
  if (r.key.length === 0) throw new EtcdError('keyNotProvided');
  const span = keySpan(r.key, r.rangeEnd);
  if (span.kind === 'empty') throw new InvalidArgumentError('a range inside a txn must not be empty (range_end <= key)');
  const whole = readsWholeRange(r);
  const op = spanRangeOp(span, { limit: whole ? 0 : r.limit, keysOnly: r.keysOnly, countOnly: r.countOnly && !whole });
  // The state machine reads at the revision, or refuses the whole txn as etcd does (compacted, future).
  return r.revision > 0 ? { ...op, revision: r.revision } : op;
}

const COMPARE_RESULTS: Record<number, kv.CompareResult> = {
  [Compare_CompareResult.Equal]: 0,
  [Compare_CompareResult.NotEqual]: 1,
  [Compare_CompareResult.Less]: 2,
  [Compare_CompareResult.Greater]: 3,
};

function compareOf(c: Compare, i: number): kv.Compare {
  if (c.key.length === 0) throw new EtcdError('keyNotProvided');
  const rangeEnd = compareRangeEnd(c, i);
  const result = COMPARE_RESULTS[c.result];
  if (result === undefined) throw new InvalidArgumentError(`txn.compare[${i}].result ${c.result} is not a known comparison`);
  const u = c.targetUnion;
  const num = (kind: 'version' | 'createRevision' | 'modRevision'): number => {
    if (u === undefined || u.$case !== kind) return 0;
    return (u as unknown as Record<string, number>)[kind] ?? 0;
  };
  let target: kv.CompareTarget;
  switch (c.target) {
    case Compare_CompareTarget.Version:
      target = { kind: 'version', version: num('version') };
      break;
    case Compare_CompareTarget.Create:
      target = { kind: 'createRevision', createRevision: num('createRevision') };
      break;
    case Compare_CompareTarget.Mod:
      target = { kind: 'modRevision', modRevision: num('modRevision') };
      break;
    case Compare_CompareTarget.Value:
      target = { kind: 'value', value: u?.$case === 'value' ? u.value : EMPTY };
      break;
    case Compare_CompareTarget.Lease:
      target = { kind: 'lease', lease: u?.$case === 'lease' ? u.lease : 0 };
      break;
    default:
      throw new InvalidArgumentError(`txn.compare[${i}]: target ${c.target} is not a known compare target`);
  }
  return rangeEnd === undefined ? { key: c.key, result, target } : { key: c.key, result, target, rangeEnd };
}

/** etcd's range_end forms for a compare: none (one key), `"\0"` (every key from key on), or an end. */
function compareRangeEnd(c: Compare, i: number): Uint8Array | undefined {
  const span = keySpan(c.key, c.rangeEnd);
  if (span.kind === 'single') return undefined;
  if (span.kind === 'empty') throw new InvalidArgumentError(`txn.compare[${i}].range_end must sort after key (or be "\\0" for every key from key on)`);
  return span.end ?? EMPTY;
}

function requestOpOf(op: RequestOp, depth: number): kv.RequestOp {
  const r = op.request;
  if (r?.$case === 'requestPut') return { kind: 'put', put: putOp(r.requestPut) };
  if (r?.$case === 'requestRange') return { kind: 'range', range: txnRangeOp(r.requestRange) };
  if (r?.$case === 'requestDeleteRange') {
    const d = deleteOp(r.requestDeleteRange);
    // An empty delete range deletes nothing; a range over no key keeps the response shape.
    return d === null ? { kind: 'range', range: spanRangeOp({ kind: 'single', key: r.requestDeleteRange.key }, { limit: 0, keysOnly: true, countOnly: true }) } : { kind: 'delete', delete: d };
  }
  if (r?.$case === 'requestTxn') return { kind: 'txn', txn: txnOpAt(r.requestTxn, depth + 1) };
  throw new InvalidArgumentError('a txn request op has no operation');
}

/** Nested txns deeper than this are refused (the state machine's TXN_DEPTH_MAX). */
const TXN_DEPTH_MAX = 16;

/** etcd's checkTxnRequest and checkIntervals (a branch may not write a key twice), then the ops. */
export function txnOp(r: TxnRequest): kv.TxnOp {
  const txn = txnOpAt(r, 1);
  if (checkIntervals(txn.success).duplicate || checkIntervals(txn.failure).duplicate) throw new EtcdError('duplicateKey');
  return txn;
}

function txnOpAt(r: TxnRequest, depth: number): kv.TxnOp {
  if (depth > TXN_DEPTH_MAX) throw new InvalidArgumentError(`txns nest more than ${TXN_DEPTH_MAX} deep`);
  if (r.compare.length > Limits.txnOpsMax || r.success.length > Limits.txnOpsMax || r.failure.length > Limits.txnOpsMax) throw new EtcdError('tooManyOps');
  const success = r.success.map((op) => requestOpOf(op, depth));
  const failure = r.failure.map((op) => requestOpOf(op, depth));
  return { compare: r.compare.map(compareOf), success, failure };
}

/**
 * etcd's checkIntervals (v3rpc/key.go): a branch's puts and deletes, nested txns included. A nested
 * txn's then and else may put the same key (one of them runs); nothing else may write a key twice.
 */
function checkIntervals(ops: readonly kv.RequestOp[]): { puts: Set<string>; dels: KeySpan[]; duplicate: boolean } {
  const dels: KeySpan[] = ops.flatMap((op) => (op.kind === 'delete' ? [keySpan(op.delete.key, op.delete.rangeEnd)] : []));
  const puts = new Set<string>();
  const covered = (hex: string): boolean => dels.some((d) => spanContains(d, Buffer.from(hex, 'hex')));
  const dup = { puts, dels, duplicate: true };
  for (const op of ops) {
    if (op.kind !== 'txn') continue;
    const then = checkIntervals(op.txn.success), other = checkIntervals(op.txn.failure);
    if (then.duplicate || other.duplicate) return dup;
    for (const k of then.puts) {
      if (puts.has(k) || covered(k)) return dup;
      puts.add(k);
    }
    for (const k of other.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || covered(k)) return dup;
      puts.add(k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    const k = Buffer.from(op.put.key).toString('hex');
    if (puts.has(k) || covered(k)) return dup;
    puts.add(k);
  }
  return { puts, dels, duplicate: false };
}

export function putResponse(r: kv.PutResult, header: ResponseHeader): PutResponse {
  return { header, ...(r.prevKv ? { prevKv: etcdKeyValue(r.prevKv) } : {}) };
}

export function deleteResponse(r: kv.DeleteResult, header: ResponseHeader): DeleteRangeResponse {
  return { header, deleted: r.deleted, prevKvs: r.prevKvs.map(etcdKeyValue) };
}

export function rangeResponse(r: Pick<kv.RangeResult, 'kvs' | 'count' | 'more'>, header: ResponseHeader): RangeResponse {
  return { header, kvs: r.kvs.map(etcdKeyValue), more: r.more, count: r.count };
}

/** Inner responses carry a header with only the revision, as etcd's do. */
function responseOp(req: RequestOp | undefined, r: kv.OpResult): ResponseOp {
  const header = { clusterId: 0, memberId: 0, raftTerm: 0, revision: r.revision };
  if (r.kind === 'put') return { response: { $case: 'responsePut', responsePut: putResponse(r, header) } };
  if (r.kind === 'delete') return { response: { $case: 'responseDeleteRange', responseDeleteRange: deleteResponse(r, header) } };
  if (req?.request?.$case === 'requestDeleteRange') {
    return { response: { $case: 'responseDeleteRange', responseDeleteRange: { header, deleted: 0, prevKvs: [] } } };
  }
  if (r.kind === 'txn') {
    const nested = req?.request?.$case === 'requestTxn' ? req.request.requestTxn : TxnRequest.fromPartial({});
    return { response: { $case: 'responseTxn', responseTxn: txnResponse(nested, r, header) } };
  }
  const rr = req?.request?.$case === 'requestRange' ? req.request.requestRange : null;
  const shaped = rr !== null && readsWholeRange(rr) ? shapeRange(rr, r) : r;
  return { response: { $case: 'responseRange', responseRange: rangeResponse(shaped, header) } };
}

export function txnResponse(req: TxnRequest, r: kv.TxnResult, header: ResponseHeader): TxnResponse {
  const ops = r.succeeded ? req.success : req.failure;
  return { header, succeeded: r.succeeded, responses: r.responses.map((x, i) => responseOp(ops[i], x)) };
}
