import { describe, expect, it } from 'vitest';
import { chooseBootstrap, type BootstrapCandidate } from '../../src/node/bootstrap-expect.js';

const m = (id: number, o: Partial<BootstrapCandidate> = {}): BootstrapCandidate => ({ id, raftAddr: `h:${id}`, alive: true, inCluster: false, ...o });

describe('chooseBootstrap', () => {
  it('waits until N fresh members are alive', () => {
    expect(chooseBootstrap(1, 3, [m(1), m(2), m(3, { alive: false })])).toEqual({ kind: 'wait' });
  });
  it('the lowest id bootstraps all N', () => {
    expect(chooseBootstrap(1, 3, [m(3), m(1), m(2)])).toEqual({ kind: 'bootstrap', voters: new Map([[1, 'h:1'], [2, 'h:2'], [3, 'h:3']]) });
  });
  it('the others start empty', () => {
    expect(chooseBootstrap(2, 3, [m(3), m(1), m(2)])).toEqual({ kind: 'join' });
  });
  it('more than N fresh: the N lowest form the cluster, the rest join later', () => {
    expect(chooseBootstrap(1, 3, [m(1), m(2), m(3), m(4)])).toEqual({ kind: 'bootstrap', voters: new Map([[1, 'h:1'], [2, 'h:2'], [3, 'h:3']]) });
    expect(chooseBootstrap(4, 3, [m(1), m(2), m(3), m(4)])).toEqual({ kind: 'join' });
  });
  it('an existing cluster member in sight: never bootstrap', () => {
    expect(chooseBootstrap(1, 3, [m(1), m(2), m(3), m(9, { inCluster: true })])).toEqual({ kind: 'join' });
  });
  it('a dead cluster member does not count', () => {
    expect(chooseBootstrap(1, 2, [m(1), m(2), m(9, { inCluster: true, alive: false })]).kind).toBe('bootstrap');
  });
});
