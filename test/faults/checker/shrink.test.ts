import { describe, expect, it } from 'vitest';
import { checkHistory, checkKeyOperations } from './check.js';
import { generateLinearizableHistory } from './generate.js';
import type { Operation } from './history.js';
import { HistoryBuilder } from './history-builder.js';
import { shrinkViolation } from './shrink.js';
import { removalIsSound } from './sound-removal.js';

/** A long linearizable single-key history followed by an isolated old leader's stale read. */
function noisyStaleRead(): { history: Operation[]; staleValue: string } {
  const noise = generateLinearizableHistory({ seed: 5, operationCount: 300, keys: ['k'], clientCount: 5, unknownRate: 0.01, failRate: 0.03 });
  const endMs = Math.max(...noise.map((op) => op.completeMs)) + 100;
  const lastPut = noise.findLast((op) => op.kind === 'put' && op.outcome === 'ok');
  if (lastPut?.kind !== 'put') throw new Error('generator produced no put');
  const tail = new HistoryBuilder('k').put('new-leader-client', 'fresh', [endMs, endMs + 10]).get('old-leader-client', lastPut.input, [endMs + 20, endMs + 25]);
  const history = [...noise, ...tail.ops.map((op) => ({ ...op, id: op.id + 10_000 }))];
  return { history, staleValue: lastPut.input };
}

describe('shrinking', () => {
  it('reduces a stale read in 300 operations of noise to the few that explain it', () => {
    const { history, staleValue } = noisyStaleRead();
    const result = checkHistory(history);
    expect(result.verdict).toBe('violation');
    const minimal = result.keys[0]?.minimal ?? [];
    console.log(`shrunk ${history.length} ops to ${minimal.length} in ${result.keys[0]?.shrinkChecks} checks, ${result.elapsedMs.toFixed(0)} ms`);
    expect(minimal.length).toBeLessThanOrEqual(4);
    expect(checkKeyOperations(minimal).verdict).toBe('violation');
    // The explanation is all there: the stale read, the write it saw, and the newer write.
    expect(minimal.some((op) => op.kind === 'get' && op.output === staleValue)).toBe(true);
    expect(minimal.some((op) => op.kind === 'put' && op.input === staleValue)).toBe(true);
    expect(minimal.some((op) => op.kind === 'put' && op.input === 'fresh')).toBe(true);
  });

  it('returns a 1-minimal history: each sound single removal makes it linearizable', () => {
    const { history } = noisyStaleRead();
    const { operations, exhausted } = shrinkViolation(history);
    expect(exhausted).toBe(false);
    for (const op of operations) {
      if (!removalIsSound(operations, [op])) continue;
      expect(checkKeyOperations(operations.filter((o) => o !== op)).verdict, `without op ${op.id}`).toBe('ok');
    }
  });

  it('never removes a write that a remaining operation depends on', () => {
    // Alone, `cas ∅→x` then `get → ∅` is broken; with the delete between them it is fine. The delete
    // must not be dropped, so this linearizable-in-full key keeps its violation honest.
    const h = new HistoryBuilder()
      .cas('a', null, 'x', true, [0, 1])
      .del('a', [2, 3])
      .get('b', null, [4, 5])
      .put('a', 'y', [6, 7])
      .put('a', 'z', [8, 9])
      .get('b', 'y', [10, 11]);
    const minimal = checkHistory(h.ops).keys[0]?.minimal ?? [];
    expect(minimal.map((op) => op.id)).toEqual([4, 5, 6]);
    expect(removalIsSound(h.ops, [h.ops[1] as Operation])).toBe(false);
    expect(removalIsSound(h.ops, [h.ops[2] as Operation])).toBe(true);
  });

  it('keeps a failed write whose value was read, as context', () => {
    const h = new HistoryBuilder().put('a', 'x', [0, 1]).put('a', 'y', [2, 3], 'fail').get('b', 'y', [4, 5]).get('c', 'x', [6, 7]);
    const minimal = checkHistory(h.ops).keys[0]?.minimal ?? [];
    expect(minimal.map((op) => op.id)).toEqual([2, 3]);
  });

  it('stops at its check budget and still returns a violation', () => {
    const { history } = noisyStaleRead();
    const { operations, exhausted, checks } = shrinkViolation(history, { maxChecks: 3 });
    expect(exhausted).toBe(true);
    expect(checks).toBe(3);
    expect(checkKeyOperations(operations).verdict).toBe('violation');
  });
});
