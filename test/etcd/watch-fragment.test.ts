import { describe, expect, it } from 'vitest';
import { fragments, WATCH_FRAGMENT_BYTES_MAX } from '../../src/service/etcd/watch.js';

const ev = (valueBytes: number): { kv: { key: Uint8Array; value: Uint8Array } } => ({ kv: { key: Buffer.from('k'), value: Buffer.alloc(valueBytes) } });

describe('watch response fragments (WatchCreateRequest.fragment)', () => {
  it('keeps a small response whole', () => {
    expect(fragments([ev(10), ev(10)]).map((g) => g.length)).toEqual([2]);
  });

  it('splits a large revision into groups under the limit, in order, losing nothing', () => {
    const third = Math.floor(WATCH_FRAGMENT_BYTES_MAX / 3);
    const events = Array.from({ length: 7 }, () => ev(third));
    const groups = fragments(events);
    expect(groups.length).toBeGreaterThan(2);
    expect(groups.flat()).toEqual(events);
    for (const g of groups) expect(g.reduce((n, e) => n + e.kv.value.length, 0)).toBeLessThanOrEqual(WATCH_FRAGMENT_BYTES_MAX);
  });

  it('sends an event larger than the limit alone', () => {
    expect(fragments([ev(10), ev(WATCH_FRAGMENT_BYTES_MAX + 1), ev(10)]).map((g) => g.length)).toEqual([1, 1, 1]);
  });
});
