/**
 * Differential test: DiskStorage must answer exactly like the core's MemoryStorage (the model of
 * durability the simulation uses) through random appends with conflicts, hard state updates, local
 * snapshots with compaction, received snapshots and restarts. The seed is in the test name.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import { CompactedError, MemoryStorage, UnavailableError, type Storage } from '../../src/raft/storage.js';
import type { Entry, SnapshotMeta } from '../../src/raft/types.js';
import { DiskStorage } from '../../src/storage/log-store.js';
import { ent, summary, useTempDirs } from './helpers.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const OPS_PER_SEED = 40;
const coreErrors = {
  compacted: (i: number, f: number) => new CompactedError(i, f),
  unavailable: (i: number, l: number) => new UnavailableError(i, l),
};

function view(s: Storage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const terms: number[] = [];
  for (let i = first - 1; i <= last; i++) terms.push(s.term(i));
  return {
    first,
    last,
    terms,
    entries: summary(s.entries(first, last + 1, Infinity)),
    limited: [0, 40, 60, 100].map((maxBytes) => s.entries(first, last + 1, maxBytes).length),
    state: s.initialState(),
    snapshot: s.snapshot().meta,
  };
}

describe('DiskStorage matches MemoryStorage', () => {
  const tempDir = useTempDirs();

  it.each(SEEDS)('seed %i', async (seed) => {
    const rnd = new SeededRandom(seed);
    const dir = join(await tempDir(), 'raft');
    const model = new MemoryStorage();
    let disk = await DiskStorage.open(dir, { errors: coreErrors });
    let term = 1;
    let commit = 0;
    const conf = { voters: [1, 2, 3], learners: [] };

    for (let op = 0; op < OPS_PER_SEED; op++) {
      const roll = rnd.int(100);
      if (roll < 55) {
        // Append, sometimes overwriting an uncommitted suffix with a higher term.
        const lo = Math.max(commit + 1, model.firstIndex());
        const start = rnd.chance(0.25) ? lo + rnd.int(model.lastIndex() + 2 - lo) : model.lastIndex() + 1;
        if (start <= model.lastIndex()) term++;
        const list: Entry[] = [];
        for (let i = 0; i < 1 + rnd.int(5); i++) list.push(ent(start + i, term, `s${seed}o${op}i${i}`));
        if (rnd.chance(0.5)) commit = Math.max(commit, Math.min(start - 1, model.lastIndex()));
        const hardState = { term, vote: rnd.int(4), commit };
        model.append(list);
        model.setHardState(hardState);
        // Mostly unsynced: this test checks semantics, not durability, and fsyncs are slow on shared disks.
        await disk.persist({ entries: list, hardState }, { sync: rnd.chance(0.1) });
      } else if (roll < 70 && commit >= model.firstIndex()) {
        // Local snapshot at a committed index, then compaction keeping a few trailing entries.
        const at = model.snapshot().meta.index + rnd.int(commit - model.snapshot().meta.index + 1);
        if (at >= model.firstIndex() - 1 && at > model.snapshot().meta.index) {
          const meta: SnapshotMeta = { index: at, term: model.term(at), conf };
          model.createSnapshot(at, conf, new Uint8Array(0));
          await disk.recordSnapshot(meta);
          const compactTo = Math.max(model.firstIndex() - 1, at - rnd.int(3));
          model.compact(compactTo);
          await disk.compact(compactTo);
        }
      } else if (roll < 78) {
        // A snapshot received from a leader, past our log.
        term++;
        const meta: SnapshotMeta = { index: model.lastIndex() + 1 + rnd.int(5), term, conf };
        commit = meta.index;
        model.applySnapshot({ meta, data: new Uint8Array(0) });
        model.setHardState({ term, vote: 0, commit });
        await disk.persist({ snapshotMeta: meta, hardState: { term, vote: 0, commit } }, { sync: false });
      } else if (roll < 90) {
        await disk.close();
        disk = await DiskStorage.open(dir, { errors: coreErrors });
      } else {
        commit = model.lastIndex();
        const hardState = { term, vote: 1, commit };
        model.setHardState(hardState);
        await disk.persist({ hardState }, { sync: false });
      }
      expect(view(disk), `seed ${seed} op ${op}`).toEqual(view(model));
    }
    // Out-of-range reads throw the core's own classes, which its log matches with instanceof.
    expect(() => disk.term(disk.firstIndex() - 2)).toThrow(disk.firstIndex() > 1 ? CompactedError : Error);
    expect(() => disk.term(disk.lastIndex() + 1)).toThrow(UnavailableError);
    await disk.close();
    const reopened = await DiskStorage.open(dir, { errors: coreErrors });
    expect(view(reopened)).toEqual(view(model));
    await reopened.close();
  });
});
