import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../src/raft/log.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { ent } from './harness.js';

/** A log whose storage holds `stored` (terms of 1..n) and whose unstable part holds `unstable` after it. */
function log(stored: number[], unstable: number[] = [], committed = 0, bytesPerReady = 1 << 20): RaftLog {
  const s = new MemoryStorage();
  s.append(stored.map((t, i) => ent(t, i + 1, `e${i + 1}`)));
  const l = new RaftLog(s, bytesPerReady);
  l.append(unstable.map((t, i) => ent(t, stored.length + i + 1, `e${stored.length + i + 1}`)));
  l.commitTo(committed);
  return l;
}

const terms = (l: RaftLog): number[] => l.allEntries().map((e) => e.term);

describe('RaftLog', () => {
  it('reads terms across storage and unstable, undefined outside the log', () => {
    const l = log([1, 1], [2, 3]);
    expect([0, 1, 2, 3, 4, 5].map((i) => l.term(i))).toEqual([0, 1, 1, 2, 3, undefined]);
    expect([l.firstIndex(), l.lastIndex(), l.lastTerm(), l.stableLastIndex()]).toEqual([1, 4, 3, 2]);
  });

  it('terms below a compaction are unknown, but the snapshot term at firstIndex-1 is known', () => {
    const s = new MemoryStorage();
    s.append([1, 1, 2, 2].map((t, i) => ent(t, i + 1)));
    s.compact(3);
    const l = new RaftLog(s, 1 << 20);
    expect([2, 3, 4].map((i) => l.term(i))).toEqual([undefined, 2, 2]);
    expect(l.entries(3, 100)).toBeUndefined();
    expect(l.entries(4, 100)?.map((e) => e.index)).toEqual([4]);
  });

  it.each<[string, number, number, boolean]>([
    // our log ends 2/3 (terms 1,1,2)
    ['higher last term, shorter log', 1, 3, true],
    ['lower last term, longer log', 9, 1, false],
    ['same last term, longer', 4, 2, true],
    ['same last term, equal', 3, 2, true],
    ['same last term, shorter', 2, 2, false],
  ])('isUpToDate: %s', (_name, index, term, want) => {
    expect(log([1, 1, 2]).isUpToDate(index, term)).toBe(want);
  });

  it.each<[string, [number, number][], number]>([
    ['all match', [[1, 1], [1, 2]], 0],
    ['empty', [], 0],
    ['first new entry past the end', [[2, 3], [2, 4]], 4],
    ['conflict in the middle', [[1, 2], [3, 3]], 3],
    ['conflict at the first', [[5, 1]], 1],
  ])('findConflict: %s', (_name, ents, want) => {
    expect(log([1, 1, 2]).findConflict(ents.map(([t, i]) => ent(t, i)))).toBe(want);
  });

  it.each<[number, number, { index: number; term: number }]>([
    // log terms: 1 1 2 2 4 4 (indexes 1..6)
    [6, 4, { index: 6, term: 4 }],
    [6, 3, { index: 4, term: 2 }],
    [6, 2, { index: 4, term: 2 }],
    [6, 1, { index: 2, term: 1 }],
    [6, 0, { index: 0, term: 0 }],
    [3, 5, { index: 3, term: 2 }],
    [9, 4, { index: 9, term: 0 }],
  ])('findConflictByTerm(%i, %i) = %j', (index, term, want) => {
    expect(log([1, 1, 2, 2, 4, 4]).findConflictByTerm(index, term)).toEqual(want);
  });

  it.each<[string, number, number, number, [number, number][], number | undefined, number, number[]]>([
    // name, prevIndex, prevTerm, leaderCommit, entries, result, commit after, terms after (log 1 1 2, commit 1)
    ['prev mismatch', 3, 3, 3, [[3, 4]], undefined, 1, [1, 1, 2]],
    ['prev past the end', 4, 2, 3, [], undefined, 1, [1, 1, 2]],
    ['heartbeat-like, commit bounded by prev', 2, 1, 3, [], 2, 2, [1, 1, 2]],
    ['append new', 3, 2, 4, [[3, 4]], 4, 4, [1, 1, 2, 3]],
    ['commit bounded by last new entry', 3, 2, 9, [[3, 4]], 4, 4, [1, 1, 2, 3]],
    ['truncate conflict', 1, 1, 2, [[3, 2]], 2, 2, [1, 3]],
    ['duplicate does not truncate', 1, 1, 1, [[1, 2]], 2, 1, [1, 1, 2]],
  ])('maybeAppend: %s', (_name, prev, prevTerm, lc, ents, want, commit, after) => {
    const l = log([1, 1, 2], [], 1);
    expect(l.maybeAppend(prev, prevTerm, lc, ents.map(([t, i]) => ent(t, i)))).toBe(want);
    expect(l.committed).toBe(commit);
    expect(terms(l)).toEqual(after);
  });

  it('refuses to truncate a committed entry (an invariant, not a user error)', () => {
    const l = log([1, 1, 2], [], 3);
    expect(() => l.maybeAppend(1, 1, 3, [ent(3, 2)])).toThrow(/conflicts with committed/);
  });

  it('commitTo never moves backwards and never past the last index', () => {
    const l = log([1, 1, 2], [], 2);
    l.commitTo(1);
    expect(l.committed).toBe(2);
    expect(() => l.commitTo(4)).toThrow(/past last index/);
  });

  it('committed entries are handed out once, bounded by bytes per Ready (at least one)', () => {
    // each entry is 2 bytes of data + 24 of overhead = 26
    const l = log([1, 1, 1], [1, 1], 5, 60);
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([1, 2]);
    l.applying = 2;
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([3, 4]);
    l.appliedTo(4);
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([5]);
    l.appliedTo(5);
    expect(l.hasNextCommittedEnts()).toBe(false);
    expect(log([1], [], 1, 1).nextCommittedEnts().map((e) => e.index)).toEqual([1]);
  });

  it('slice stitches storage and unstable entries, and stops at the size limit without a gap', () => {
    const l = log([1, 1], [2, 2]);
    expect(l.slice(1, 5, 1 << 20).map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(l.slice(2, 4, 1 << 20).map((e) => e.index)).toEqual([2, 3]);
    expect(l.slice(1, 5, 30).map((e) => e.index)).toEqual([1]);
    expect(l.slice(3, 5, 30).map((e) => e.index)).toEqual([3]);
  });

  it('restore from a snapshot sets commit and moves the log past it', () => {
    const l = log([1, 1]);
    l.restore({ meta: { index: 7, term: 3, conf: { voters: [1], learners: [] } }, data: new Uint8Array(0) });
    expect([l.committed, l.firstIndex(), l.lastIndex(), l.term(7), l.hasPendingSnapshot()]).toEqual([7, 8, 7, 3, true]);
    expect(l.hasNextCommittedEnts()).toBe(false);
  });
});
