import { describe, expect, it } from 'vitest';
import { nodeSimOptions, runNodeSeed, type NodeBrokenMode } from './world.js';

/** Each check of the whole-node simulation is worth something only if a deliberate bug trips it. */
async function violationsWith(broken: NodeBrokenMode, seeds: number): Promise<string> {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await runNodeSeed(nodeSimOptions(seed, { broken }));
    if (r.violations.length > 0) return r.violations.join('\n');
  }
  return '';
}

describe('the whole-node checks catch deliberately broken modes', () => {
  it('a replica that mis-applies some commands breaks the equal-state hashes', async () => {
    expect(await violationsWith('divergentReplica', 10)).toMatch(/replica divergence/);
  }, 120_000);

  it('linearizable gets served without a read fence break linearizability', async () => {
    expect(await violationsWith('readWithoutFence', 10)).toMatch(/linearizability/);
  }, 120_000);

  it('a disk that acknowledges syncs it did not do loses acknowledged writes', async () => {
    expect(await violationsWith('ignoreSync', 30)).toMatch(/durability|state machine safety|committed log|election safety/);
  }, 300_000);

  it('a corrupt read with a matching checksum lets a node start on wrong data', async () => {
    expect(await violationsWith('resealFlips', 30)).toMatch(/corruption: n\d+ accepted a log read with flipped bits/);
  }, 300_000);

  it('granting votes without the log check (a broken core rule) is caught through the driver', async () => {
    expect(await violationsWith('voteWithoutLogCheck', 40)).toMatch(/durability|state machine safety|committed log|election safety|log matching|replica divergence|linearizability/);
  }, 300_000);
});
