import { describe, expect, it } from 'vitest';
import {
  Awareness, pushPullScaleMs, remainingSuspicionMs, retransmitLimit, suspicionConfirmationsWanted,
  suspicionMinTimeoutMs,
} from '../../src/gossip/index.js';

describe('gossip formulas (pinned to memberlist values)', () => {
  it('suspicion min timeout scales with log10(n)', () => {
    expect(suspicionMinTimeoutMs(4, 1, 1000)).toBe(4000);
    expect(suspicionMinTimeoutMs(4, 10, 1000)).toBe(4000);
    expect(suspicionMinTimeoutMs(4, 100, 1000)).toBe(8000);
    expect(suspicionMinTimeoutMs(4, 1000, 1000)).toBe(12000);
    expect(suspicionMinTimeoutMs(3, 50, 500)).toBe(Math.floor((3 * 1698 * 500) / 1000));
  });

  it('confirmations wanted: mult - 2, none when too few members can confirm', () => {
    expect(suspicionConfirmationsWanted(4, 3)).toBe(0);
    expect(suspicionConfirmationsWanted(4, 4)).toBe(2);
    expect(suspicionConfirmationsWanted(4, 100)).toBe(2);
  });

  it('remaining suspicion time falls from max to min with confirmations', () => {
    // memberlist suspicion_test.go table values.
    expect(remainingSuspicionMs(1, 3, 2000, 2000, 30000)).toBe(14000);
    expect([0, 1, 2, 3].map((c) => remainingSuspicionMs(c, 3, 0, 500, 1000))).toEqual([1000, 750, 603, 500]);
    expect(remainingSuspicionMs(0, 0, 0, 4000, 24000)).toBe(4000);
    expect(remainingSuspicionMs(5, 2, 0, 4000, 24000)).toBe(4000);
  });

  it('retransmit limit = mult * ceil(log10(n + 1))', () => {
    expect([1, 5, 9, 10, 99, 100, 999, 1000].map((n) => retransmitLimit(4, n))).toEqual([4, 4, 4, 8, 8, 12, 12, 16]);
  });

  it('push/pull interval scales beyond 32 members', () => {
    expect(pushPullScaleMs(30000, 32)).toBe(30000);
    expect(pushPullScaleMs(30000, 64)).toBe(60000);
    expect(pushPullScaleMs(30000, 128)).toBe(90000);
    expect(pushPullScaleMs(30000, 1024)).toBe(180000);
  });
});

describe('Awareness', () => {
  it('clamps the score to [0, max - 1] and scales timeouts by score + 1', () => {
    const a = new Awareness(8);
    a.apply(-1);
    expect(a.healthScore).toBe(0);
    expect(a.scaleMs(500)).toBe(500);
    a.apply(3);
    expect(a.scaleMs(1000)).toBe(4000);
    a.apply(100);
    expect(a.healthScore).toBe(7);
    expect(a.scaleMs(1000)).toBe(8000);
    a.apply(-2);
    expect(a.healthScore).toBe(5);
  });
});
