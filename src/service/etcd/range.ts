import { RangeRequest_SortOrder, RangeRequest_SortTarget, type RangeRequest } from '../../gen/etcd/etcdserverpb/rpc.js';
import type { KeyValue } from '../../kv/types.js';
import type { ServiceKv } from '../deps.js';
import { EtcdError } from './errors.js';
import { keySpan, spanRangeOp } from './keys.js';

export interface RangeAnswer {
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  readonly count: number;
  readonly more: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * etcd's Range over the local store, at the current revision or, with `revision` set, as of that
 * revision (the store refuses one before its compacted revision or after its current one with etcd's
 * errors). As in etcd, sorting or a min/max revision filter reads the whole range first, then
 * filters, sorts and truncates to `limit`; `count` ignores limit and filters. One store page
 * (KvLimits.rangeKvsMax kvs) is the most one Range returns; `more` says when the store cut it.
 */
export async function etcdRange(kv: ServiceKv, req: RangeRequest): Promise<RangeAnswer> {
  if (req.key.length === 0) throw new EtcdError('keyNotProvided');
  const span = keySpan(req.key, req.rangeEnd);
  const readAll = readsWholeRange(req);
  const limit = Math.max(0, req.limit);
  const at = Math.max(0, req.revision);
  let page: RangeAnswer;
  if (span.kind === 'empty') {
    // Nothing to read, but the revision is still checked, as etcd does.
    page = { revision: (await kv.get(req.key, at)).revision, kvs: [], count: 0, more: false };
  } else if (span.kind === 'single') {
    const { kv: found, revision } = await kv.get(span.key, at);
    const kvs = found === null ? [] : [req.keysOnly ? { ...found, value: EMPTY } : found];
    page = { revision, kvs, count: kvs.length, more: false };
  } else {
    page = await kv.range(spanRangeOp(span, { limit: readAll ? 0 : limit, keysOnly: req.keysOnly, countOnly: req.countOnly && !readAll }), at);
  }
  if (!readAll) return req.countOnly ? { ...page, kvs: [] } : page;
  return shapeRange(req, page);
}

/** Sorting or a min/max revision filter needs the whole range before `limit` applies. */
export function readsWholeRange(req: RangeRequest): boolean {
  const filtered = req.minModRevision > 0 || req.maxModRevision > 0 || req.minCreateRevision > 0 || req.maxCreateRevision > 0;
  return effectiveOrder(req) !== RangeRequest_SortOrder.None || filtered;
}

/**
 * etcd's filter, sort and truncate of a range read whole (also for a Range inside a Txn, whose read
 * the state machine does without sorting or filters); `count` ignores filters and limit.
 */
export function shapeRange<P extends Omit<RangeAnswer, 'revision'>>(req: RangeRequest, page: P): P {
  const order = effectiveOrder(req);
  const limit = Math.max(0, req.limit);
  let kvs = page.kvs.filter((k) => keep(req, k));
  if (order !== RangeRequest_SortOrder.None) kvs = sortKvs(kvs, req.sortTarget, order);
  const cut = limit > 0 && kvs.length > limit;
  if (cut) kvs = kvs.slice(0, limit);
  return { ...page, kvs: req.countOnly ? [] : kvs, count: page.count, more: page.more || cut };
}

/** A sort target other than KEY with order NONE means ASCEND; KEY with NONE is the natural order. */
function effectiveOrder(req: RangeRequest): RangeRequest_SortOrder {
  if (req.sortOrder === RangeRequest_SortOrder.None && req.sortTarget !== RangeRequest_SortTarget.Key) return RangeRequest_SortOrder.Ascend;
  if (req.sortOrder === RangeRequest_SortOrder.Ascend && req.sortTarget === RangeRequest_SortTarget.Key) return RangeRequest_SortOrder.None;
  return req.sortOrder;
}

function keep(req: RangeRequest, k: KeyValue): boolean {
  if (req.minModRevision > 0 && k.modRevision < req.minModRevision) return false;
  if (req.maxModRevision > 0 && k.modRevision > req.maxModRevision) return false;
  if (req.minCreateRevision > 0 && k.createRevision < req.minCreateRevision) return false;
  if (req.maxCreateRevision > 0 && k.createRevision > req.maxCreateRevision) return false;
  return true;
}

function sortKvs(kvs: readonly KeyValue[], target: RangeRequest_SortTarget, order: RangeRequest_SortOrder): KeyValue[] {
  const by: (a: KeyValue, b: KeyValue) => number =
    target === RangeRequest_SortTarget.Version ? (a, b) => a.version - b.version
    : target === RangeRequest_SortTarget.Create ? (a, b) => a.createRevision - b.createRevision
    : target === RangeRequest_SortTarget.Mod ? (a, b) => a.modRevision - b.modRevision
    : target === RangeRequest_SortTarget.Value ? (a, b) => Buffer.compare(a.value, b.value)
    : (a, b) => Buffer.compare(a.key, b.key);
  // Array.prototype.sort is stable, so equal targets stay in key order, as in etcd.
  const sorted = [...kvs].sort(by);
  return order === RangeRequest_SortOrder.Descend ? sorted.reverse() : sorted;
}
