import { describe, expect, it } from 'vitest';
import { Progress } from '../../src/raft/progress.js';
import { ProgressState } from '../../src/raft/types.js';

const { Probe, Replicate, Snapshot } = ProgressState;

function pr(state: ProgressState, match: number, next: number, pendingSnapshot = 0): Progress {
  const p = new Progress(next, false, 3, 1000);
  if (state === Replicate) p.becomeReplicate();
  if (state === Snapshot) p.becomeSnapshot(pendingSnapshot);
  p.match = match;
  p.next = next;
  return p;
}

describe('Progress', () => {
  it('maybeUpdate moves match forward only, and next to at least match+1', () => {
    const p = pr(Probe, 3, 4);
    p.probeSent = true;
    expect(p.maybeUpdate(2)).toBe(false);
    expect([p.match, p.next, p.probeSent]).toEqual([3, 4, true]);
    expect(p.maybeUpdate(6)).toBe(true);
    expect([p.match, p.next, p.probeSent]).toEqual([6, 7, false]);
  });

  it.each<[string, ProgressState, number, number, number, number, boolean, number]>([
    // name, state, match, next, rejected, hint, accepted, next after
    ['replicate: stale rejection (<= match) is ignored', Replicate, 5, 9, 5, 5, false, 9],
    ['replicate: rejection falls back to match+1', Replicate, 5, 9, 8, 6, true, 6],
    ['probe: rejection of an older probe is ignored', Probe, 0, 9, 5, 3, false, 9],
    ['probe: uses the hint', Probe, 0, 9, 8, 3, true, 4],
    ['probe: never below match+1', Probe, 4, 9, 8, 1, true, 5],
    ['probe: hint past the rejected index is capped', Probe, 0, 9, 8, 20, true, 8],
  ])('maybeDecrTo, %s', (_name, state, match, next, rejected, hint, accepted, nextAfter) => {
    const p = pr(state, match, next);
    expect(p.maybeDecrTo(rejected, hint)).toBe(accepted);
    expect(p.next).toBe(nextAfter);
  });

  it('isPaused: Probe while a probe is outstanding, Replicate when the window is full, Snapshot always', () => {
    const probe = pr(Probe, 0, 1);
    expect(probe.isPaused()).toBe(false);
    probe.sentEntries(1, 1, 10);
    expect(probe.isPaused()).toBe(true);
    const rep = pr(Replicate, 0, 1);
    for (let i = 1; i <= 3; i++) {
      expect(rep.isPaused()).toBe(false);
      rep.sentEntries(1, i, 10);
    }
    expect([rep.isPaused(), rep.next]).toEqual([true, 4]);
    expect(pr(Snapshot, 0, 1, 10).isPaused()).toBe(true);
  });

  it('sentEntries in Replicate with no entries (a commit-only append) takes no window slot', () => {
    const p = pr(Replicate, 5, 6);
    p.sentEntries(0, 5, 0);
    expect([p.inflights.count(), p.next]).toEqual([0, 6]);
  });

  it.each<[string, number, number, number]>([
    ['snapshot not yet acknowledged: resume after the snapshot', 3, 10, 11],
    ['acknowledged past the snapshot: resume after match', 12, 10, 13],
  ])('becomeProbe from Snapshot, %s', (_name, match, pending, next) => {
    const p = pr(Snapshot, match, 1, pending);
    p.becomeProbe();
    expect([p.state, p.next, p.pendingSnapshot]).toEqual([Probe, next, 0]);
  });

  it('becomeReplicate and becomeProbe restart from match+1 and clear the window', () => {
    const p = pr(Replicate, 4, 9);
    p.sentEntries(1, 9, 10);
    p.becomeProbe();
    expect([p.state, p.next, p.inflights.count()]).toEqual([Probe, 5, 0]);
    p.becomeReplicate();
    expect([p.state, p.next]).toEqual([Replicate, 5]);
  });
});
