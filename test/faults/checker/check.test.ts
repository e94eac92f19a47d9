import { describe, expect, it } from 'vitest';
import { checkHistory, checkKeyOperations } from './check.js';
import type { Operation } from './history.js';
import { InvalidHistoryError } from './history.js';
import { HistoryBuilder } from './history-builder.js';

const verdictOf = (ops: readonly Operation[]): string => checkHistory(ops).verdict;

describe('register histories', () => {
  it('accepts a sequential history', () => {
    const h = new HistoryBuilder()
      .get('a', null, [0, 1])
      .put('a', 'x', [2, 3])
      .get('b', 'x', [4, 5])
      .cas('a', 'x', 'y', true, [6, 7])
      .cas('b', 'x', 'z', false, [8, 9])
      .get('a', 'y', [10, 11])
      .del('b', [12, 13])
      .get('a', null, [14, 15]);
    expect(verdictOf(h.ops)).toBe('ok');
  });

  it('accepts concurrent operations linearized in either order', () => {
    const seesOld = new HistoryBuilder().put('a', 'x', [0, 1]).put('a', 'y', [2, 10]).get('b', 'x', [3, 9]);
    const seesNew = new HistoryBuilder().put('a', 'x', [0, 1]).put('a', 'y', [2, 10]).get('b', 'y', [3, 9]);
    expect(verdictOf(seesOld.ops)).toBe('ok');
    expect(verdictOf(seesNew.ops)).toBe('ok');
    // Two overlapping writes, then reads that agree on one order: either order is fine.
    const xLast = new HistoryBuilder().put('a', 'x', [0, 10]).put('b', 'y', [0, 10]).get('c', 'x', [11, 12]);
    const yLast = new HistoryBuilder().put('a', 'x', [0, 10]).put('b', 'y', [0, 10]).get('c', 'y', [11, 12]);
    expect(verdictOf(xLast.ops)).toBe('ok');
    expect(verdictOf(yLast.ops)).toBe('ok');
  });

  it('rejects readers that disagree with each other on the order of two writes', () => {
    const h = new HistoryBuilder()
      .put('a', 'x', [0, 10])
      .put('b', 'y', [0, 10])
      .get('c', 'x', [11, 12])
      .get('c', 'y', [13, 14])
      .get('d', 'x', [15, 16]);
    expect(verdictOf(h.ops)).toBe('violation');
  });

  it('rejects a stale read after a completed write', () => {
    const h = new HistoryBuilder().put('a', 'x', [0, 1]).put('a', 'y', [2, 3]).get('b', 'x', [4, 5]);
    expect(verdictOf(h.ops)).toBe('violation');
  });

  it('rejects a read that sees nothing after a completed write', () => {
    const h = new HistoryBuilder().put('a', 'x', [0, 1]).get('b', null, [2, 3]);
    expect(verdictOf(h.ops)).toBe('violation');
  });

  it('rejects the stale read of an isolated old leader', () => {
    // Client a wrote 'old' through the old leader; the partition isolates it; client b writes 'new'
    // through the new leader and is acknowledged; client c, reading from the old leader after that
    // acknowledgement, still sees 'old'.
    const h = new HistoryBuilder()
      .put('a', 'old', [0, 5])
      .put('b', 'new', [100, 140])
      .get('c', 'old', [150, 155]);
    expect(verdictOf(h.ops)).toBe('violation');
    // The same read, begun before the write was acknowledged, may legitimately see the old value.
    const concurrent = new HistoryBuilder()
      .put('a', 'old', [0, 5])
      .put('b', 'new', [100, 140])
      .get('c', 'old', [139, 155]);
    expect(verdictOf(concurrent.ops)).toBe('ok');
  });

  it('treats completion at the same instant as another invocation as concurrent', () => {
    const h = new HistoryBuilder().put('a', 'x', [0, 1]).put('a', 'y', [2, 5]).get('b', 'x', [5, 6]);
    expect(verdictOf(h.ops)).toBe('ok');
  });
});

describe('unknown and failed operations', () => {
  it('accepts an unknown write whose value appears later, even long after the client gave up', () => {
    const h = new HistoryBuilder()
      .put('a', 'x', [0, 1])
      .put('a', 'y', [2, 50], 'unknown')
      .get('b', 'x', [60, 61])
      .get('b', 'y', [500, 501])
      .get('c', 'y', [600, 601]);
    expect(verdictOf(h.ops)).toBe('ok');
  });

  it('accepts an unknown write that never appears', () => {
    const h = new HistoryBuilder()
      .put('a', 'x', [0, 1])
      .put('a', 'y', [2, 50], 'unknown')
      .get('b', 'x', [60, 61])
      .get('c', 'x', [600, 601]);
    expect(verdictOf(h.ops)).toBe('ok');
  });

  it('rejects an unknown write that appears and then disappears', () => {
    const h = new HistoryBuilder()
      .put('a', 'x', [0, 1])
      .put('a', 'y', [2, 50], 'unknown')
      .get('b', 'y', [60, 61])
      .get('c', 'x', [70, 71]);
    expect(verdictOf(h.ops)).toBe('violation');
  });

  it('rejects a failed write whose value appears', () => {
    const h = new HistoryBuilder().put('a', 'x', [0, 1]).put('a', 'y', [2, 3], 'fail').get('b', 'y', [4, 5]);
    expect(verdictOf(h.ops)).toBe('violation');
  });

  it('ignores unknown reads and failed operations of every kind', () => {
    const h = new HistoryBuilder()
      .put('a', 'x', [0, 1])
      .get('b', 'garbage', [2, 3], 'unknown')
      .cas('c', 'x', 'z', true, [2, 3], 'fail')
      .del('d', [2, 3], 'fail')
      .get('e', 'x', [4, 5]);
    expect(verdictOf(h.ops)).toBe('ok');
  });

  it('lets an unknown CAS take effect only when its expectation holds', () => {
    const swapped = new HistoryBuilder().put('a', 'x', [0, 1]).cas('b', 'x', 'y', null, [2, 3], 'unknown').get('c', 'y', [10, 11]);
    expect(verdictOf(swapped.ops)).toBe('ok');
    const cannot = new HistoryBuilder().put('a', 'x', [0, 1]).cas('b', 'w', 'y', null, [2, 3], 'unknown').get('c', 'y', [10, 11]);
    expect(verdictOf(cannot.ops)).toBe('violation');
  });
});

describe('compare-and-swap races', () => {
  const race = (firstOk: boolean, secondOk: boolean) =>
    new HistoryBuilder().put('a', 'v0', [0, 1]).cas('b', 'v0', 'v1', firstOk, [2, 10]).cas('c', 'v0', 'v2', secondOk, [3, 9]);

  it('accepts exactly one winner of two CAS with the same expected value', () => {
    expect(verdictOf(race(true, false).ops)).toBe('ok');
    expect(verdictOf(race(false, true).ops)).toBe('ok');
  });

  it('rejects two winners and no winner', () => {
    expect(verdictOf(race(true, true).ops)).toBe('violation');
    expect(verdictOf(race(false, false).ops)).toBe('violation');
  });

  it('checks the winner against later reads', () => {
    const h = race(true, false).get('d', 'v2', [20, 21]);
    expect(verdictOf(h.ops)).toBe('violation');
    const ok = race(true, false).get('d', 'v1', [20, 21]);
    expect(verdictOf(ok.ops)).toBe('ok');
  });

  it('supports create-if-absent (expected null) and delete', () => {
    const h = new HistoryBuilder()
      .cas('a', null, 'x', true, [0, 1])
      .cas('b', null, 'y', false, [2, 3])
      .del('a', [4, 5])
      .cas('b', null, 'y', true, [6, 7])
      .get('c', 'y', [8, 9]);
    expect(verdictOf(h.ops)).toBe('ok');
  });
});

/**
 * Concurrent unknown writes, each seen by one of as many concurrent reads, then a read of a value
 * nobody wrote: proving the violation means visiting every way to interleave the first two groups.
 */
function hardViolation(): HistoryBuilder {
  const h = new HistoryBuilder();
  for (let i = 0; i < 6; i++) h.put(`w${i}`, `v${i}`, [0, 1], 'unknown');
  for (let i = 0; i < 6; i++) h.get(`r${i}`, `v${i}`, [10, 20]);
  return h.get('z', 'never-written', [30, 31]);
}

describe('keys, initial values, validation, budget', () => {
  it('checks keys independently and names the violating one', () => {
    const a = new HistoryBuilder('a').put('c1', 'x', [0, 1]).get('c2', 'x', [2, 3]);
    const b = new HistoryBuilder('b').put('c1', 'x', [0, 1]).put('c1', 'y', [2, 3]).get('c2', 'x', [4, 5]);
    const ops = [...a.ops, ...b.ops.map((op) => ({ ...op, id: op.id + 100 }))];
    const result = checkHistory(ops);
    expect(result.verdict).toBe('violation');
    expect(result.keys.map((k) => [k.key, k.verdict])).toEqual([
      ['a', 'ok'],
      ['b', 'violation'],
    ]);
  });

  it('starts keys from the given initial values', () => {
    const h = new HistoryBuilder().get('a', 'seed', [0, 1]);
    expect(checkHistory(h.ops).verdict).toBe('violation');
    expect(checkHistory(h.ops, { initialValues: { k: 'seed' } }).verdict).toBe('ok');
  });

  it('rejects malformed histories with a typed error', () => {
    const dup = new HistoryBuilder().put('a', 'x', [0, 1]).ops;
    expect(() => checkHistory([...dup, ...dup])).toThrow(InvalidHistoryError);
    const backwards = new HistoryBuilder().put('a', 'x', [5, 1]).ops;
    expect(() => checkHistory(backwards)).toThrow(/completeMs/);
    const noOutput: Operation[] = [{ id: 1, clientId: 'a', key: 'k', kind: 'get', invokeMs: 0, completeMs: 1, outcome: 'ok' }];
    expect(() => checkHistory(noOutput)).toThrow(/output/);
  });

  it('returns unknown when the step budget runs out', () => {
    const h = hardViolation();
    expect(checkKeyOperations(h.ops, { maxSteps: 1_000 }).verdict).toBe('unknown');
    const result = checkHistory(h.ops, { maxSteps: 1_000 });
    expect(result.verdict).toBe('unknown');
    expect(result.keys[0]?.steps).toBe(1_001);
    expect(checkKeyOperations(h.ops).verdict).toBe('violation');
  });

  it('returns unknown when the time budget runs out', () => {
    const h = hardViolation();
    let fakeNowMs = 0;
    const now = (): number => (fakeNowMs += 1);
    expect(checkKeyOperations(h.ops, { timeLimitMs: 5, now }).verdict).toBe('unknown');
  });
});
