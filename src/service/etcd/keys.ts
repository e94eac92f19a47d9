import type { RangeOp } from '../../kv/types.js';

const EMPTY = new Uint8Array(0);

/**
 * etcd's key + range_end pair (the same rules for Range, DeleteRange, Watch and Compare):
 * an empty range_end is the one key; range_end "\0" is every key >= key; otherwise [key, range_end),
 * empty when range_end <= key.
 */
export type KeySpan =
  | { readonly kind: 'single'; readonly key: Uint8Array }
  | { readonly kind: 'range'; readonly start: Uint8Array; readonly end: Uint8Array | null }
  | { readonly kind: 'empty' };

export function keySpan(key: Uint8Array, rangeEnd: Uint8Array): KeySpan {
  if (rangeEnd.length === 0) return { kind: 'single', key };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { kind: 'range', start: key, end: null };
  if (Buffer.compare(rangeEnd, key) <= 0) return { kind: 'empty' };
  return { kind: 'range', start: key, end: rangeEnd };
}

/** The span as a store range (one key is [key, key + "\0"), the smallest key after it). */
export function spanRangeOp(span: Exclude<KeySpan, { kind: 'empty' }>, opts: { limit: number; keysOnly: boolean; countOnly: boolean }): RangeOp {
  const [start, end] = span.kind === 'single' ? [span.key, Buffer.concat([span.key, Buffer.of(0)])] : [span.start, span.end ?? EMPTY];
  return { prefix: EMPTY, start, end, startAfter: EMPTY, ...opts };
}

export function spanContains(span: KeySpan, key: Uint8Array): boolean {
  if (span.kind === 'empty') return false;
  if (span.kind === 'single') return Buffer.compare(key, span.key) === 0;
  return Buffer.compare(key, span.start) >= 0 && (span.end === null || Buffer.compare(key, span.end) < 0);
}
