import { describe, expect, it } from 'vitest';
import { checkHistory } from './check.js';
import { generateLinearizableHistory } from './generate.js';
import type { Operation } from './history.js';

describe('performance', () => {
  const history = generateLinearizableHistory({
    seed: 2024,
    operationCount: 2_000,
    keys: ['k1', 'k2', 'k3', 'k4', 'k5'],
    clientCount: 5,
    failRate: 0.02,
    unknownRate: 0.02,
  });

  it('checks 2,000 operations over 5 keys with concurrency 5', () => {
    const result = checkHistory(history);
    const steps = result.keys.reduce((sum, k) => sum + k.steps, 0);
    console.log(`2,000 ops / 5 keys / 5 clients: ${result.verdict} in ${result.elapsedMs.toFixed(1)} ms, ${steps} steps`);
    expect(result.verdict).toBe('ok');
    expect(result.keys).toHaveLength(5);
  });

  it('finds and shrinks a violation in the same history', () => {
    // The last ok read of k3 claims to see a value nobody ever wrote after the first write of k3.
    const firstPut = history.find((op) => op.key === 'k3' && op.kind === 'put' && op.outcome === 'ok');
    const lastRead = history.findLast((op) => op.key === 'k3' && op.kind === 'get' && op.outcome === 'ok');
    if (firstPut?.kind !== 'put' || lastRead?.kind !== 'get') throw new Error('generator produced no put/get on k3');
    const mutated: Operation[] = history.map((op) => (op.id === lastRead.id ? { ...lastRead, output: firstPut.input } : op));
    const result = checkHistory(mutated);
    const k3 = result.keys.find((k) => k.key === 'k3');
    console.log(
      `mutated: ${result.verdict} in ${result.elapsedMs.toFixed(1)} ms; k3 shrunk from ${k3?.operationCount} to ${k3?.minimal?.length} ops in ${k3?.shrinkChecks} checks`,
    );
    expect(result.verdict).toBe('violation');
    expect(result.keys.filter((k) => k.verdict === 'violation').map((k) => k.key)).toEqual(['k3']);
    console.log(JSON.stringify(k3?.minimal));
    expect(k3?.minimal?.length).toBeLessThanOrEqual(4);
  });
});
