import { describe, expect, it } from 'vitest';
import { defaultOptions, runSeed } from './cluster.js';
import { formatFailure } from './report.js';

// Seeds are split over four files so vitest runs them on every core.
const FIRST = 4 * 250 - 249;
const COUNT = 250;

describe(`raft simulation, seeds ${FIRST}..${FIRST + COUNT - 1}`, () => {
  it('has no safety, durability, read or liveness violation', () => {
    const failures: string[] = [];
    for (let seed = FIRST; seed < FIRST + COUNT; seed++) {
      const r = runSeed(defaultOptions(seed));
      if (r.violations.length > 0) failures.push(formatFailure(r));
    }
    expect(failures.join('\n\n')).toBe('');
  }, 600_000);
});
