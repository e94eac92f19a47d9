import { describe, expect, it } from 'vitest';
import { formatFailure } from '../report.js';
import { nodeSimOptions, runNodeSeed } from './world.js';

/** Whole-node seeds in `npm test`; `npm run sim -- --node --seeds N` runs more. */
const SEEDS = 30;

describe(`whole-node simulation, seeds 1..${SEEDS}`, () => {
  it('keeps every check (raft invariants, replica hashes, durability, linearizability, lease expiry under clock drift, watch order and agreement) on the production driver and KvStore under crashes, partitions, corrupt reads, failed writes and membership changes', async () => {
    const failures: string[] = [];
    const totals = { crashes: 0, corruptReadsCaught: 0, writeFailuresStopped: 0, partitions: 0, confChanges: 0, lostDiskWrites: 0, ops: 0, leases: 0, leaseBeats: 0, leaseReads: 0, lostKvWrites: 0, watchedRevisions: 0, compactRevision: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runNodeSeed(nodeSimOptions(seed));
      if (r.violations.length > 0) failures.push(formatFailure(r, ' --node'));
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k] ?? 0;
    }
    expect(failures.join('\n\n')).toBe('');
    // The seeds exercised what they claim to.
    for (const [k, v] of Object.entries(totals)) expect(v, k).toBeGreaterThan(0);
  }, 300_000);

  it('replays a seed identically', async () => {
    const a = await runNodeSeed(nodeSimOptions(7));
    const b = await runNodeSeed(nodeSimOptions(7));
    expect(b.stats).toEqual(a.stats);
    expect(b.trace).toEqual(a.trace);
  }, 60_000);
});
