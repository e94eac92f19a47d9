/** Figure 2 "persistent state on all servers", and the Ready contract's crash points. */
import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../src/raft/types.js';
import { Network, msg } from './harness.js';

const PLAIN = { preVote: false, checkQuorum: false } as const;

describe('durability', () => {
  it('votedFor is durable: a restarted node does not vote twice in the same term', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    net.deliverRound((m) => m.to === 3);
    net.crash(3);
    net.restart(3);
    expect(net.node(3).status()).toMatchObject({ term: 2, vote: 1 });
    net.send(msg({ type: MessageType.Vote, from: 2, to: 3, term: 2, index: 3, logTerm: 1 }));
    net.deliverRound((m) => m.from === 2 && m.to === 3);
    expect(net.pending()).toContain('3->2 MsgVoteResp term=2 rejected');
  });

  it('a crash before the vote is persisted sends no vote', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    const vote = net.queue.find((m) => m.to === 3)!;
    net.node(3).node.step(vote);
    net.sendOnly(3); // messages (none) sent; the vote and its response are lost with the crash
    net.crash(3);
    net.restart(3);
    expect(net.node(3).status()).toMatchObject({ term: 1, vote: 0 });
    expect(net.queue.filter((m) => m.from === 3)).toEqual([]);
  });

  it('currentTerm and the log survive a restart; committed entries are re-applied from the snapshot on', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    for (const s of ['a', 'b']) net.propose(1, s);
    net.deliverAll();
    net.compact(2, 5);
    net.propose(1, 'c');
    net.deliverAll();
    net.crash(2);
    net.restart(2);
    expect(net.node(2).status()).toMatchObject({ term: 2, lastIndex: 7, commit: 7, applied: 7, conf: { voters: [1, 2, 3], learners: [] } });
    // The snapshot (at 6) restored a and b; c (7) was re-applied from the log.
    expect(net.node(2).applied).toEqual(['a', 'b', 'c']);
  });

  it('a restarted leader comes back as a follower of its term and the cluster carries on', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.crash(1);
    net.restart(1);
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 0 });
    for (let i = 0; i < 50 && !net.leader(); i++) {
      net.tickAll();
      net.deliverAll();
    }
    expect(net.leader()).toBeDefined();
    const leader = net.leader()!.id;
    net.propose(leader, 'x');
    net.deliverAll();
    expect([1, 2, 3].map((id) => net.node(id).applied)).toEqual([['x'], ['x'], ['x']]);
  });

  it('a single-voter cluster commits as soon as its own write is persisted', () => {
    const net = new Network({ voters: [1] });
    net.campaign(1);
    net.node(1).node.propose(new TextEncoder().encode('x'));
    const rd = net.sendOnly(1);
    expect(rd.messages).toEqual([]);
    expect(net.node(1).commit).toBe(2);
    net.finishReady(1, rd);
    net.processReady(1);
    expect(net.node(1)).toMatchObject({ applied: ['x'] });
    expect(net.node(1).commit).toBe(3);
  });
});
