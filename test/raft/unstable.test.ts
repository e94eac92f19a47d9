import { describe, expect, it } from 'vitest';
import { Unstable } from '../../src/raft/unstable.js';
import type { Snapshot } from '../../src/raft/types.js';
import { ent } from './harness.js';

function snap(index: number, term: number): Snapshot {
  return { meta: { index, term, conf: { voters: [1], learners: [] } }, data: new Uint8Array(0) };
}

function u(offset: number, ents: [number, number][], s: Snapshot | null = null): Unstable {
  const x = new Unstable(offset);
  x.entries = ents.map(([t, i]) => ent(t, i));
  x.snapshot = s;
  return x;
}

const ids = (x: Unstable): string[] => x.entries.map((e) => `${e.term}/${e.index}`);

describe('Unstable', () => {
  it.each<[string, Unstable, number | undefined, number | undefined]>([
    ['empty', u(5, []), undefined, undefined],
    ['entries only', u(5, [[1, 5], [1, 6]]), undefined, 6],
    ['snapshot only', u(5, [], snap(4, 1)), 5, 4],
    ['snapshot and entries', u(5, [[2, 5]], snap(4, 1)), 5, 5],
  ])('first/last index: %s', (_name, x, first, last) => {
    expect(x.maybeFirstIndex()).toBe(first);
    expect(x.maybeLastIndex()).toBe(last);
  });

  it.each<[number, number | undefined]>([
    [3, undefined],
    [4, 1],
    [5, 2],
    [6, 3],
    [7, undefined],
  ])('maybeTerm(%i) = %s with snapshot 1/4 and entries 2/5, 3/6', (i, t) => {
    expect(u(5, [[2, 5], [3, 6]], snap(4, 1)).maybeTerm(i)).toBe(t);
  });

  it.each<[string, number, number, number, string[]]>([
    ['persisted prefix is dropped', 5, 1, 6, ['1/6', '1/7']],
    ['everything persisted', 7, 1, 8, []],
    ['term mismatch (entry was replaced meanwhile) is ignored', 6, 2, 5, ['1/5', '1/6', '1/7']],
    ['index below offset is ignored', 4, 1, 5, ['1/5', '1/6', '1/7']],
  ])('stableTo: %s', (_name, i, t, offset, left) => {
    const x = u(5, [[1, 5], [1, 6], [1, 7]]);
    x.stableTo(i, t);
    expect([x.offset, ids(x)]).toEqual([offset, left]);
  });

  it.each<[string, [number, number][], number, string[]]>([
    ['append directly after', [[1, 8]], 5, ['1/5', '1/6', '1/7', '1/8']],
    ['replace the tail from inside', [[2, 6], [2, 7]], 5, ['1/5', '2/6', '2/7']],
    ['replace everything and reach into storage', [[2, 4]], 4, ['2/4']],
  ])('truncateAndAppend: %s', (_name, add, offset, want) => {
    const x = u(5, [[1, 5], [1, 6], [1, 7]]);
    x.truncateAndAppend(add.map(([t, i]) => ent(t, i)));
    expect([x.offset, ids(x)]).toEqual([offset, want]);
  });

  it('restore replaces everything with the snapshot; stableSnapTo clears only that snapshot', () => {
    const x = u(5, [[1, 5]]);
    x.restore(snap(9, 3));
    expect([x.offset, ids(x), x.maybeLastIndex()]).toEqual([10, [], 9]);
    x.stableSnapTo(8);
    expect(x.snapshot).not.toBeNull();
    x.stableSnapTo(9);
    expect(x.snapshot).toBeNull();
  });

  it('slice refuses out-of-range requests', () => {
    const x = u(5, [[1, 5], [1, 6]]);
    expect(x.slice(5, 7).map((e) => e.index)).toEqual([5, 6]);
    expect(() => x.slice(4, 6)).toThrow(/out of/);
    expect(() => x.slice(5, 8)).toThrow(/out of/);
  });
});
