import { describe, expect, it } from 'vitest';
import { LeaseSchedule, minLeaseTtlSeconds } from '../../src/node/lease-schedule.js';

const schedule = (): LeaseSchedule => new LeaseSchedule({ revokeRetryMs: 3_000 });

describe('LeaseSchedule', () => {
  it('derives the minimum TTL from the election timeout as etcd does', () => {
    expect(minLeaseTtlSeconds(100, 10)).toBe(2); // etcd defaults: 15 ticks x 100 ms = 1.5 s -> 2 s
    expect(minLeaseTtlSeconds(100, 20)).toBe(3);
    expect(minLeaseTtlSeconds(50, 5)).toBe(1); // 3*5/2 = 7 (integer division) x 50 ms
  });

  it('never expires anything on a follower', () => {
    const s = schedule();
    s.add(1, 2, 0);
    expect(s.due(1e12, 10)).toEqual([]);
    expect(s.remainingMs(1, 5_000)).toBe(Infinity);
    expect(s.renew(1, 0)).toBeNull(); // only the primary renews
  });

  it('expires a lease at its TTL on the primary, not a millisecond before', () => {
    const s = schedule();
    s.promote(0, 0);
    s.add(1, 5, 1_000);
    expect(s.due(5_999, 10)).toEqual([]);
    expect(s.remainingMs(1, 5_999)).toBe(1);
    expect(s.due(6_000, 10)).toEqual([1]);
  });

  it('renewal restarts the TTL; an expired lease cannot be renewed', () => {
    const s = schedule();
    s.promote(0, 0);
    s.add(1, 2, 0);
    for (let t = 500; t <= 20_000; t += 500) {
      expect(s.renew(1, t)).toBe(2);
      expect(s.due(t + 1_999, 10)).toEqual([]);
    }
    expect(s.due(22_000, 10)).toEqual([1]);
    expect(s.renew(1, 22_000)).toBeNull();
    expect(s.remainingMs(1, 22_500)).toBe(0);
  });

  it('gives every lease TTL + extension on promotion, and hands an unrevoked lease out again after the retry interval', () => {
    const s = schedule();
    s.add(1, 10, 0);
    s.add(2, 4, 0);
    s.promote(100_000, 1_000);
    expect(s.remainingMs(1, 100_000)).toBe(11_000);
    expect(s.due(104_999, 10)).toEqual([]);
    expect(s.due(105_000, 10)).toEqual([2]);
    expect(s.due(107_999, 10)).toEqual([]); // revocation proposed; not again before the retry
    expect(s.due(108_000, 10)).toEqual([2]);
    s.remove(2); // the revocation was applied
    expect(s.due(200_000, 10)).toEqual([1]);
    expect(s.list()).toEqual([1]);
  });

  it('demotion stops all expiry; respects the per-call maximum; orders the list by expiry', () => {
    const s = schedule();
    s.promote(0, 0);
    for (let id = 1; id <= 5; id++) s.add(id, 10 - id, 0);
    expect(s.list()).toEqual([5, 4, 3, 2, 1]);
    expect(s.due(100_000, 2)).toEqual([5, 4]);
    expect(s.due(100_000, 10)).toEqual([3, 2, 1]);
    s.demote();
    expect(s.due(1e9, 10)).toEqual([]);
  });

  it('keeps its heap bounded under many renewals', () => {
    const s = schedule();
    s.promote(0, 0);
    s.add(1, 100, 0);
    for (let t = 1; t < 100_000; t++) s.renew(1, t);
    expect((s as unknown as { heap: unknown[] }).heap.length).toBeLessThan(100);
    expect(s.due(100_098, 10)).toEqual([]);
    expect(s.due(100_099 + 100_000, 10)).toEqual([1]);
  });
});
