import { prefixRange } from './keys.js';
import type { KeyRange } from './keys.js';
import type { KvLimits } from './limits.js';
import type { KeyValue, RangeOp, RangeResult } from './types.js';

const EMPTY: Uint8Array = new Uint8Array(0);

/** The key range and the exclusive start of a RangeOp. */
export function rangeBounds(op: RangeOp): { range: KeyRange; after: Uint8Array | null } {
  const range: KeyRange = op.prefix.length > 0 ? prefixRange(op.prefix) : { start: op.start, end: op.end.length > 0 ? op.end : null };
  return { range, after: op.startAfter.length > 0 ? op.startAfter : null };
}

/** One page of a range from its kvs in key order: limit, byte budget, count of the whole range. */
export async function collectPage(
  source: AsyncIterable<KeyValue>,
  op: RangeOp,
  limits: Pick<KvLimits, 'rangeKvsMax' | 'rangePageBytesMax'>,
): Promise<Omit<RangeResult, 'revision'>> {
  const limit = op.limit === 0 ? limits.rangeKvsMax : Math.min(op.limit, limits.rangeKvsMax);
  const kvs: KeyValue[] = [];
  let count = 0, bytes = 0, more = false;
  for await (const kv of source) {
    const full = !op.countOnly && (kvs.length >= limit || bytes >= limits.rangePageBytesMax);
    if (full && op.pageOnly === true) {
      more = true;
      break;
    }
    count++;
    if (op.countOnly) continue;
    if (full) {
      more = true;
      continue;
    }
    kvs.push(op.keysOnly ? { ...kv, value: EMPTY } : kv);
    bytes += kv.key.length + kv.value.length;
  }
  const last = kvs[kvs.length - 1];
  return { kind: 'range', kvs, count, more, nextStartAfter: more && last !== undefined ? last.key : EMPTY };
}
