import { describe, expect, it } from 'vitest';
import { VoteResult, committedIndex, majority, voteResult } from '../../src/raft/quorum.js';

describe('quorum', () => {
  it.each([
    [0, 1], [1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 4],
  ])('majority(%i) = %i', (n, q) => {
    expect(majority(n)).toBe(q);
  });

  it.each<[number[], number]>([
    [[], 0],
    [[5], 5],
    [[5, 3], 3],
    [[5, 3, 1], 3],
    [[1, 3, 5], 3],
    [[9, 9, 0], 9],
    [[2, 8, 4, 6], 4],
    [[7, 7, 7, 0, 0], 7],
    [[7, 6, 0, 0, 5], 5],
    [[0, 0, 0], 0],
  ])('committedIndex(%j) = %i: the highest index a majority has matched', (matches, want) => {
    expect(committedIndex(matches)).toBe(want);
  });

  const V = VoteResult;
  it.each<[string, number[], [number, boolean][], VoteResult]>([
    ['empty configuration wins', [], [], V.Won],
    ['single voter, self vote', [1], [[1, true]], V.Won],
    ['3 voters, 1 grant', [1, 2, 3], [[1, true]], V.Pending],
    ['3 voters, 2 grants', [1, 2, 3], [[1, true], [2, true]], V.Won],
    ['3 voters, 1 grant 1 reject', [1, 2, 3], [[1, true], [2, false]], V.Pending],
    ['3 voters, 2 rejects', [1, 2, 3], [[1, true], [2, false], [3, false]], V.Lost],
    ['4 voters, 2 grants 2 rejects', [1, 2, 3, 4], [[1, true], [2, true], [3, false], [4, false]], V.Lost],
    ['4 voters, 2 grants 1 reject', [1, 2, 3, 4], [[1, true], [2, true], [3, false]], V.Pending],
    ['5 voters, 3 grants', [1, 2, 3, 4, 5], [[1, true], [4, true], [5, true]], V.Won],
    ['votes of non-voters do not count', [1, 2, 3], [[1, true], [7, true], [8, true]], V.Pending],
  ])('voteResult: %s', (_name, voters, votes, want) => {
    expect(voteResult(voters, new Map(votes))).toBe(want);
  });
});
