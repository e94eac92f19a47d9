import { describe, expect, it } from 'vitest';
import { nodeSimOptions, runNodeSeed, type NodeBrokenMode } from './world.js';

/**
 * Each check of the whole-node simulation is worth something only if a deliberate bug trips it.
 * Returns the violations of the first seed (of `seeds`) where one matches `expected`, else all seen.
 */
async function caught(broken: NodeBrokenMode, seeds: number, expected: RegExp): Promise<string> {
  const seen: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await runNodeSeed(nodeSimOptions(seed, { broken }));
    const text = r.violations.join('\n');
    if (expected.test(text)) return text;
    if (text) seen.push(`seed ${seed}: ${text}`);
  }
  return seen.join('\n') || 'no violation';
}

describe('the whole-node checks catch deliberately broken modes', () => {
  it('a replica that mis-applies some commands breaks the equal-state hashes', async () => {
    const re = /replica divergence/;
    expect(await caught('divergentReplica', 10, re)).toMatch(re);
  }, 120_000);

  it('linearizable gets served without a read fence break linearizability', async () => {
    const re = /linearizability/;
    expect(await caught('readWithoutFence', 10, re)).toMatch(re);
  }, 120_000);

  it('a disk that acknowledges syncs it did not do loses acknowledged writes', async () => {
    const re = /durability: acknowledged/;
    expect(await caught('ignoreSync', 60, re)).toMatch(re);
  }, 300_000);

  it('a corrupt read with a matching checksum lets a node start on wrong data', async () => {
    const re = /corruption: n\d+ accepted a log read with flipped bits/;
    expect(await caught('resealFlips', 30, re)).toMatch(re);
  }, 300_000);

  it('a new leader that keeps the lease deadlines it set at grant time expires kept-alive leases early', async () => {
    const re = /lease: .*before its TTL ran out/;
    expect(await caught('leaseNoPromote', 20, re)).toMatch(re);
  }, 300_000);

  it('a watch that loses revisions breaks the once-and-in-order check of the watch streams', async () => {
    const re = /watch c\d+ on n1 from \d+: revision \d+ delivered after/;
    expect(await caught('watchSkipsRevision', 10, re)).toMatch(re);
  }, 120_000);

  it('granting votes without the log check (a broken core rule) is caught through the driver', async () => {
    const re = /durability|state machine safety|committed log|election safety|log matching|replica divergence|linearizability/;
    expect(await caught('voteWithoutLogCheck', 40, re)).toMatch(re);
  }, 300_000);
});
