/** Membership changes one server at a time (thesis §4.1, §4.2.1 learners), one rule per test. */
import { describe, expect, it } from 'vitest';
import { ConfChangeType, MessageType, Role } from '../../src/raft/types.js';
import { Network, between } from './harness.js';

const ET = 10;

function run(net: Network, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    net.tickAll();
    net.deliverAll();
  }
}

/** A stable 3-voter cluster led by 1, with node 4 added (and started, empty) as a learner. */
function withLearner(): Network {
  const net = new Network({ voters: [1, 2, 3] });
  net.elect(1);
  net.addNode(4).start();
  net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 4 });
  net.deliverAll();
  return net;
}

describe('membership changes', () => {
  it('add learner: it receives the whole log and applies the configuration history', () => {
    const net = withLearner();
    expect(net.node(1).conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(net.node(4).conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(net.node(4).logIds()).toEqual(net.node(1).logIds());
    expect(net.node(1).status().progress.get(4)).toMatchObject({ isLearner: true, match: 5, state: 1 });
  });

  it('a learner does not count toward commit', () => {
    const net = withLearner();
    net.drop((m) => m.type === MessageType.App && (m.to === 2 || m.to === 3));
    net.propose(1, 'x');
    net.deliverAll();
    // Leader and learner hold 6: two of four members, but one of three voters.
    expect(net.node(1).status().progress.get(4)?.match).toBe(6);
    expect(net.node(1).commit).toBe(5);
  });

  it('a learner never campaigns', () => {
    const net = withLearner();
    net.isolate(1);
    net.tick(4, 10 * ET);
    expect(net.pending().filter((l) => l.startsWith('4->'))).toEqual([]);
    expect(net.node(4).status()).toMatchObject({ role: Role.Follower, term: 2 });
  });

  it('promote a learner to voter: it then counts toward commit and the quorum grows to 3 of 4', () => {
    const net = withLearner();
    net.proposeConfChange(1, { type: ConfChangeType.AddVoter, nodeId: 4 });
    net.deliverAll();
    expect(net.node(4).conf).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    net.drop((m) => m.type === MessageType.App && m.to === 3);
    net.drop(between(1, 2));
    net.propose(1, 'x');
    net.deliverAll();
    expect(net.node(1).commit).toBe(6); // only leader + 4: not 3 of 4
    net.heal();
    net.tick(1);
    net.deliverAll();
    expect(net.node(1).commit).toBe(7);
  });

  it('remove a node: the rest commit without it and the leader stops replicating to it', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 3 });
    net.deliverAll();
    expect(net.node(1).conf).toEqual({ voters: [1, 2], learners: [] });
    net.isolate(3);
    net.propose(1, 'x');
    net.tick(1);
    expect(net.pending().filter((l) => l.startsWith('1->3'))).toEqual([]);
    net.deliverAll();
    expect(net.node(2).applied).toEqual(['x']);
  });

  it('only one conf change may be pending at a time', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 4 });
    expect(() => net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 5 })).toThrow(
      expect.objectContaining({ name: 'ConfChangeInProgressError', code: 'CONF_CHANGE_IN_PROGRESS' }),
    );
    net.heal();
    net.tick(1);
    net.deliverAll();
    expect(net.node(1).conf.learners).toEqual([4]);
    net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 5 });
    net.deliverAll();
    expect(net.node(1).conf.learners).toEqual([4, 5]);
  });

  it('a new leader refuses conf changes while one from an earlier term may be in its log unapplied', () => {
    const net = new Network({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    net.elect(1);
    net.isolate(1);
    net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 4 }); // 2/5, only on node 1
    net.crash(1);
    net.restart(1);
    net.heal();
    const stop = net.drop((m) => m.type === MessageType.App);
    net.campaign(1);
    net.deliverAll();
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 3, commit: 4 });
    expect(() => net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 5 })).toThrow(expect.objectContaining({ code: 'CONF_CHANGE_IN_PROGRESS' }));
    stop();
    net.tick(1);
    net.deliverAll();
    expect(net.node(1).conf.learners).toEqual([4]);
    net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 5 });
  });

  it('the last voter cannot be removed, and a voter cannot be demoted to learner', () => {
    const single = new Network({ voters: [1] });
    single.campaign(1);
    expect(() => single.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 1 })).toThrow(expect.objectContaining({ code: 'PROPOSAL_DROPPED' }));
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    expect(() => net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 2 })).toThrow(expect.objectContaining({ code: 'PROPOSAL_DROPPED' }));
  });

  it('a removed leader steps down once the removal is applied, and the rest elect a new leader', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 1 });
    net.deliverAll();
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, lead: 0, conf: { voters: [2, 3], learners: [] } });
    expect(net.node(2).conf.voters).toEqual([2, 3]);
    run(net, 3 * ET);
    const leader = net.leader();
    expect([2, 3]).toContain(leader?.id);
    expect(net.node(1).role).toBe(Role.Follower); // not a voter: never campaigns
    expect(() => net.propose(1, 'x')).toThrow();
  });

  it('a transfer to a learner is ignored', () => {
    const net = withLearner();
    net.transferLeadership(1, 4);
    expect(net.pending()).toEqual([]);
    expect(net.node(1).status().leadTransferee).toBe(0);
  });
});
