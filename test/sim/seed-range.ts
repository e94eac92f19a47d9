import { describe, expect, it } from 'vitest';
import { defaultOptions, runSeed } from './cluster.js';
import { formatFailure } from './report.js';

/**
 * Declares a test over seeds [first, first + count). The 1,000 seeds of `npm test` are split over
 * several files so that vitest runs them on every core.
 */
export function describeSeedRange(first: number, count: number): void {
  describe(`raft simulation, seeds ${first}..${first + count - 1}`, () => {
    it('has no safety, durability, read or liveness violation', () => {
      const failures: string[] = [];
      for (let seed = first; seed < first + count; seed++) {
        const r = runSeed(defaultOptions(seed));
        if (r.violations.length > 0) failures.push(formatFailure(r));
      }
      expect(failures.join('\n\n')).toBe('');
    }, 600_000);
  });
}
