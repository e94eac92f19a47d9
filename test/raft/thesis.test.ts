/** The thesis' extensions, one rule per test: pre-vote and check-quorum (§9.6), leader lease on votes (§4.2.3). */
import { describe, expect, it } from 'vitest';
import { TRANSFER_CONTEXT } from '../../src/raft/raft.js';
import { MessageType, Role } from '../../src/raft/types.js';
import { Network, msg } from './harness.js';

const ET = 10;

/** Tick every live node and deliver everything, `rounds` times. */
function run(net: Network, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    net.tickAll();
    net.deliverAll();
  }
}

describe('pre-vote (thesis §9.6)', () => {
  it('pre-vote does not increase the term: an isolated node campaigns forever at the same term', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.tick(3, 10 * ET);
    net.deliverAll();
    expect(net.node(3).status()).toMatchObject({ role: Role.PreCandidate, term: 2 });
    expect(net.node(3).storage.initialState().hardState.term).toBe(2);
    expect(net.takeTrace().filter((l) => l.startsWith('3->1')).slice(0, 1)).toEqual(['3->1 MsgPreVote term=3 index=4 logTerm=2  DROPPED']);
  });

  it('a partitioned node rejoining does not disrupt a stable leader', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    run(net, 5 * ET);
    net.heal();
    net.takeTrace();
    run(net, 5 * ET);
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 2 });
    expect(net.node(3).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 1 });
  });

  it('without pre-vote, the same rejoin forces the leader to step down (why pre-vote exists)', () => {
    const net = new Network({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    net.elect(1);
    net.isolate(3);
    run(net, 5 * ET);
    expect(net.node(3).term).toBeGreaterThan(4);
    net.heal();
    net.takeTrace();
    // Node 3 ignores the stale heartbeats; at its next timeout its vote request deposes node 1.
    run(net, 2 * ET);
    expect(net.node(1).term).toBeGreaterThan(4);
    expect(net.takeTrace().some((l) => /^1 is follower term=\d+ leader=0$/.test(l))).toBe(true);
  });

  it('a pre-vote is granted for term+1 without changing the granter\'s term or vote', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.send(msg({ type: MessageType.PreVote, from: 1, to: 2, term: 2, index: 3, logTerm: 1 }));
    net.deliverRound();
    expect(net.pending()).toEqual(['2->1 MsgPreVoteResp term=2']);
    expect(net.node(2).status()).toMatchObject({ term: 1, vote: 0 });
  });

  it('a pre-vote is refused to a node whose log is behind', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.send(msg({ type: MessageType.PreVote, from: 1, to: 2, term: 2, index: 2, logTerm: 1 }));
    net.deliverRound();
    expect(net.pending()).toEqual(['2->1 MsgPreVoteResp term=1 rejected']);
  });

  it('a pre-candidate that wins the pre-vote starts a real election at term+1', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    expect(net.node(1).status()).toMatchObject({ role: Role.PreCandidate, term: 1 });
    net.deliverRound();
    net.deliverRound((m) => m.from === 2);
    expect(net.node(1).status()).toMatchObject({ role: Role.Candidate, term: 2, vote: 1 });
  });

  it('a pre-candidate rejected by a majority returns to follower at the same term', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.clearQueue();
    for (const from of [2, 3]) net.send(msg({ type: MessageType.PreVoteResp, from, to: 1, term: 1, reject: true }));
    net.deliverAll();
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 1 });
  });
});

describe('check-quorum (thesis §6.2)', () => {
  it('a leader steps down after an election timeout without hearing from a quorum', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    // The first check (at ET) still sees the acks of the election; the second finds nobody.
    net.tick(1, 2 * ET - 1);
    expect(net.node(1).role).toBe(Role.Leader);
    net.tick(1);
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 0 });
    expect(() => net.propose(1, 'x')).toThrow(expect.objectContaining({ code: 'NO_LEADER' }));
  });

  it('a leader that hears from one follower of two keeps its quorum', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 5 * ET; i++) {
      net.tick(1);
      net.deliverAll();
    }
    expect(net.node(1).role).toBe(Role.Leader);
  });

  it('without check-quorum an isolated leader stays leader forever (why check-quorum exists)', () => {
    const net = new Network({ voters: [1, 2, 3], config: { checkQuorum: false } });
    net.elect(1);
    net.isolate(1);
    net.tick(1, 10 * ET);
    expect(net.node(1).role).toBe(Role.Leader);
  });
});

describe('leader lease on votes (thesis §4.2.3)', () => {
  function stable(): Network {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.takeTrace();
    return net;
  }

  it('a follower that heard from its leader within an election timeout ignores a vote request', () => {
    const net = stable();
    net.send(msg({ type: MessageType.Vote, from: 3, to: 2, term: 5, index: 4, logTerm: 2 }));
    net.deliverRound();
    expect(net.pending()).toEqual([]);
    expect(net.node(2).status()).toMatchObject({ term: 2, lead: 1, vote: 1 });
  });

  it('a follower in a lease ignores a pre-vote request too', () => {
    const net = stable();
    net.send(msg({ type: MessageType.PreVote, from: 3, to: 2, term: 3, index: 4, logTerm: 2 }));
    net.deliverRound();
    expect(net.pending()).toEqual([]);
  });

  it('the leader itself ignores a vote request while its lease holds', () => {
    const net = stable();
    net.send(msg({ type: MessageType.Vote, from: 3, to: 1, term: 5, index: 4, logTerm: 2 }));
    net.deliverRound();
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 2 });
  });

  it('a vote request of a leadership transfer bypasses the lease', () => {
    const net = stable();
    net.send(msg({ type: MessageType.Vote, from: 3, to: 2, term: 3, index: 4, logTerm: 2, context: TRANSFER_CONTEXT }));
    net.deliverRound();
    expect(net.pending()).toEqual(['2->3 MsgVoteResp term=3']);
    expect(net.node(2).status()).toMatchObject({ term: 3, vote: 3 });
  });

  it('once the lease has expired, a vote request is considered', () => {
    const net = stable();
    net.isolate(1);
    net.tick(2, ET);
    net.clearQueue();
    net.heal();
    net.send(msg({ type: MessageType.Vote, from: 3, to: 2, term: 5, index: 4, logTerm: 2 }));
    net.deliverRound();
    expect(net.pending()).toEqual(['2->3 MsgVoteResp term=5']);
  });
});
