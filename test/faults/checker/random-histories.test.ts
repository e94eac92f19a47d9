import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/common/random.js';
import { bruteForceLinearizable } from './brute-force.js';
import { checkHistory, checkKeyOperations } from './check.js';
import { generateLinearizableHistory } from './generate.js';
import type { GetOperation, Operation, OpKind, Outcome, Value } from './history.js';

/** Makes one ok read return the value of a write on its key that began after the read ended. */
function mutateOneRead(history: readonly Operation[], rng: SeededRandom): { history: Operation[]; readId: number } | null {
  const reads = history.filter((op): op is GetOperation => op.kind === 'get' && op.outcome === 'ok');
  for (let attempt = 0; attempt < 100; attempt++) {
    const read = reads[rng.int(reads.length)];
    if (read === undefined) return null;
    const future = history.find((op) => op.key === read.key && op.kind === 'put' && op.invokeMs > read.completeMs);
    if (future?.kind !== 'put') continue;
    const mutated: GetOperation = { ...read, output: future.input };
    return { history: history.map((op) => (op.id === read.id ? mutated : op)), readId: read.id };
  }
  return null;
}

describe('generated linearizable histories', () => {
  it('accepts them, with fails and unknowns, over many seeds', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const history = generateLinearizableHistory({
        seed,
        operationCount: 300,
        keys: ['a', 'b', 'c'],
        clientCount: 5,
        failRate: 0.05,
        unknownRate: 0.05,
      });
      const result = checkHistory(history);
      expect(result.verdict, `seed ${seed}`).toBe('ok');
    }
  });

  it('rejects each one after one read is mutated to see a later write', () => {
    const rng = new SeededRandom(99);
    for (let seed = 1; seed <= 30; seed++) {
      const history = generateLinearizableHistory({ seed, operationCount: 300, keys: ['a', 'b'], clientCount: 5, unknownRate: 0.03 });
      const mutation = mutateOneRead(history, rng);
      expect(mutation, `seed ${seed}`).not.toBeNull();
      const result = checkHistory(mutation?.history ?? [], { shrink: false });
      expect(result.verdict, `seed ${seed}`).toBe('violation');
    }
  });
});

/** Arbitrary small histories, mostly not linearizable, from a tiny value alphabet. */
function arbitraryHistory(rng: SeededRandom, size: number): Operation[] {
  const values: readonly Value[] = ['x', 'y'];
  const kinds: readonly OpKind[] = ['put', 'get', 'get', 'cas', 'delete'];
  const outcomes: readonly Outcome[] = ['ok', 'ok', 'ok', 'ok', 'unknown', 'fail'];
  const ops: Operation[] = [];
  for (let id = 0; id < size; id++) {
    const invokeMs = rng.int(10);
    const base = { id, clientId: `c${id}`, key: 'k', invokeMs, completeMs: invokeMs + rng.int(6), outcome: outcomes[rng.int(outcomes.length)] as Outcome };
    const value = (): Value | null => (rng.chance(0.25) ? null : (values[rng.int(values.length)] as Value));
    const kind = kinds[rng.int(kinds.length)] as OpKind;
    if (kind === 'put') ops.push({ ...base, kind, input: value() ?? 'x' });
    else if (kind === 'delete') ops.push({ ...base, kind });
    else if (kind === 'get') ops.push({ ...base, kind, output: value() });
    else ops.push({ ...base, kind, input: { expected: value(), new: value() ?? 'y' }, output: rng.chance(0.5) });
  }
  return ops;
}

describe('agreement with a brute-force oracle', () => {
  it('gives the same verdict on 3,000 small arbitrary histories', () => {
    const rng = new SeededRandom(7);
    let violations = 0;
    for (let trial = 0; trial < 3_000; trial++) {
      const history = arbitraryHistory(rng, 2 + rng.int(6));
      const expected = bruteForceLinearizable(history) ? 'ok' : 'violation';
      expect(checkKeyOperations(history).verdict, JSON.stringify(history)).toBe(expected);
      if (expected === 'violation') violations++;
    }
    // Both verdicts must be well represented for the agreement to mean something.
    expect(violations).toBeGreaterThan(500);
    expect(violations).toBeLessThan(2_500);
  });
});
