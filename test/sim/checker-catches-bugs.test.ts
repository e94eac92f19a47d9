import { describe, expect, it } from 'vitest';
import type { BrokenRules } from '../../src/raft/config.js';
import { defaultOptions, runSeed } from './cluster.js';

/** The simulation is only worth something if it fails when a rule is broken. */
function violationsWith(broken: BrokenRules, seeds: number): string[] {
  const found: string[] = [];
  for (let seed = 1; seed <= seeds && found.length === 0; seed++) {
    found.push(...runSeed(defaultOptions(seed, { broken })).violations);
  }
  return found;
}

describe('the simulation checker catches deliberately broken rules', () => {
  it('granting votes without the up-to-date log check loses committed entries', () => {
    const v = violationsWith({ voteWithoutLogCheck: true }, 60);
    expect(v.length).toBeGreaterThan(0);
    expect(v.join('\n')).toMatch(/leader completeness|state machine safety|durability|log matching/);
  });

  it('answering ReadIndex without a heartbeat quorum serves stale reads', () => {
    const v = violationsWith({ readIndexWithoutQuorum: true }, 60);
    expect(v.length).toBeGreaterThan(0);
    expect(v.join('\n')).toMatch(/linearizable read/);
  });
});
