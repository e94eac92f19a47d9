/** Leader election, one rule per test: Figure 2 "Rules for Servers" and RequestVote, §5.1, §5.2, §5.4.1. */
import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../src/raft/types.js';
import { Network, ent, msg } from './harness.js';

/** The basic algorithm of the paper: no pre-vote, no check-quorum (so no leader lease). */
const PLAIN = { preVote: false, checkQuorum: false } as const;

/** Give node `to` the log [bootstrap 1..3, ...entries] by a hand-made append from `from` at `term`. */
function seedLog(net: Network, from: number, to: number, term: number, entries: [number, number][]): void {
  net.send(msg({ type: MessageType.App, from, to, term, index: 3, logTerm: 1, entries: entries.map(([t, i]) => ent(t, i)) }));
  net.deliverRound();
  net.clearQueue();
  net.takeTrace();
}

describe('§5.1 terms', () => {
  it('a node that sees a higher term converts to follower and adopts the term', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.elect(1);
    expect(net.node(1).role).toBe(Role.Leader);
    net.send(msg({ type: MessageType.Heartbeat, from: 2, to: 1, term: 7 }));
    net.deliverRound();
    expect(net.takeTrace()).toEqual(['2->1 MsgHeartbeat term=7 commit=0', '1 is follower term=7 leader=2']);
    expect(net.pending()).toContain('1->2 MsgHeartbeatResp term=7');
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 7, lead: 2, vote: 0 });
  });

  it('a candidate that sees a higher term converts to follower', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    net.clearQueue();
    expect(net.node(1).status()).toMatchObject({ role: Role.Candidate, term: 2 });
    net.send(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 5, reject: true }));
    net.deliverRound();
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 5, lead: 0 });
  });

  it('a stale-term message is rejected, and its sender is told the newer term', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    const before = net.node(2).logIds();
    // A deposed leader of term 1 still tries to append.
    net.send(msg({ type: MessageType.App, from: 3, to: 2, term: 1, index: 4, logTerm: 2, entries: [ent(1, 5)], commit: 5 }));
    net.deliverRound();
    expect(net.takeTrace()).toEqual(['3->2 MsgApp term=1 index=4 logTerm=2 entries=[1/5] commit=5']);
    expect(net.pending()).toEqual(['2->3 MsgAppResp term=2 index=0']);
    expect(net.node(2).logIds()).toEqual(before);
    expect(net.node(2).status()).toMatchObject({ term: 2, lead: 1, commit: 4 });
  });

  it('a stale vote request is not granted', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.elect(1);
    net.send(msg({ type: MessageType.Vote, from: 3, to: 2, term: 1, index: 9, logTerm: 9 }));
    net.deliverRound();
    expect(net.takeTrace()).toEqual(['3->2 MsgVote term=1 index=9 logTerm=9']);
    expect(net.node(2).status()).toMatchObject({ term: 2, vote: 1 });
  });

  it('a leader that learns of a higher term from a response steps down', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.elect(1);
    net.send(msg({ type: MessageType.AppResp, from: 3, to: 1, term: 4, index: 4 }));
    net.deliverRound();
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 4 });
  });
});

describe('§5.2 leader election', () => {
  it('randomized election timeout: a follower campaigns after a timeout in [ET, 2ET), drawn per seed', () => {
    const electionTicks = 10;
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const net = new Network({ voters: [1, 2, 3], seed, config: { electionTicks } });
      let ticks = 0;
      while (net.node(1).role === Role.Follower) {
        net.tick(1);
        ticks++;
        expect(ticks).toBeLessThan(2 * electionTicks);
      }
      expect(ticks).toBeGreaterThanOrEqual(electionTicks);
      seen.add(ticks);
    }
    // Randomization is what breaks split votes: the draws must actually differ.
    expect(seen.size).toBeGreaterThanOrEqual(6);
  });

  it('a follower that hears from the leader does not campaign', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    for (let i = 0; i < 100; i++) {
      net.tickAll();
      net.deliverAll();
    }
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 2 });
    expect(net.node(2).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 1 });
  });

  it('a candidate votes for itself, increments its term and asks every voter', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    expect(net.node(1).status()).toMatchObject({ role: Role.Candidate, term: 2, vote: 1 });
    expect(net.node(1).storage.initialState().hardState).toMatchObject({ term: 2, vote: 1 });
    expect(net.pending()).toEqual(['1->2 MsgVote term=2 index=3 logTerm=1', '1->3 MsgVote term=2 index=3 logTerm=1']);
  });

  it('a vote is granted at most once per term (first come, first served), and repeated to the same candidate', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    net.deliverRound((m) => m.to === 3);
    net.campaign(2);
    net.deliverRound((m) => m.to === 3);
    net.send(msg({ type: MessageType.Vote, from: 1, to: 3, term: 2, index: 3, logTerm: 1 }));
    net.deliverRound((m) => m.to === 3);
    expect(net.takeTrace().filter((l) => l.includes('->'))).toEqual([
      '1->3 MsgVote term=2 index=3 logTerm=1',
      '2->3 MsgVote term=2 index=3 logTerm=1',
      '1->3 MsgVote term=2 index=3 logTerm=1',
    ]);
    expect(net.pending().filter((l) => l.startsWith('3->'))).toEqual([
      '3->1 MsgVoteResp term=2',
      '3->2 MsgVoteResp term=2 rejected',
      '3->1 MsgVoteResp term=2',
    ]);
    expect(net.node(3).status()).toMatchObject({ term: 2, vote: 1 });
  });

  it('the vote is persisted before the response is sent (messagesAfterPersist)', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    net.node(2).node.step(net.queue[0]!);
    const rd = net.node(2).node.ready();
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist.map((m) => m.type)).toEqual([MessageType.VoteResp]);
    expect(rd.hardState).toMatchObject({ term: 2, vote: 1 });
    expect(rd.mustSync).toBe(true);
  });

  it('a candidate with votes from a majority becomes leader', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5], config: PLAIN });
    net.campaign(1);
    net.drop((m) => m.type === MessageType.Vote && m.to >= 4);
    net.deliverRound();
    expect(net.node(1).role).toBe(Role.Candidate);
    net.deliverRound((m) => m.type === MessageType.VoteResp && m.from === 2);
    expect(net.node(1).role).toBe(Role.Candidate);
    net.deliverRound((m) => m.type === MessageType.VoteResp && m.from === 3);
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 2, lead: 1 });
  });

  it('a candidate rejected by a majority returns to follower', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    net.clearQueue();
    net.send(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 2, reject: true }));
    net.send(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 2, reject: true }));
    net.deliverRound((m) => m.from === 2);
    expect(net.node(1).role).toBe(Role.Candidate);
    net.deliverRound();
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 0 });
  });

  it('a candidate that receives an append from a leader of its term becomes its follower', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.campaign(1);
    net.clearQueue();
    net.send(msg({ type: MessageType.App, from: 2, to: 1, term: 2, index: 3, logTerm: 1, entries: [ent(2, 4)], commit: 3 }));
    net.deliverRound();
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 2, lastIndex: 4 });
  });

  it('split vote: nobody wins, and the next timeout starts a new election in a higher term', () => {
    const net = new Network({ voters: [1, 2, 3, 4], config: PLAIN });
    net.campaign(1);
    net.campaign(2);
    // 3 hears 1 first, 4 hears 2 first: two votes each, no majority of four.
    net.deliverRound((m) => (m.from === 1 && m.to === 3) || (m.from === 2 && m.to === 4));
    net.deliverAll();
    // Each got two grants and two refusals: a lost election returns the candidate to follower.
    for (const id of [1, 2, 3, 4]) expect(net.node(id).status()).toMatchObject({ role: Role.Follower, term: 2, lead: 0 });
    while (net.node(1).role === Role.Follower) net.tick(1);
    net.deliverAll();
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 3 });
  });

  it('a single-voter cluster elects itself at once', () => {
    const net = new Network({ voters: [1] });
    net.campaign(1);
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 2 });
    expect(net.pending()).toEqual([]);
  });
});

describe('§5.4.1 election restriction', () => {
  // Node 3's log: bootstrap 1..3, then 2/4, 3/5 (last term 3, last index 5).
  function voter(): Network {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    seedLog(net, 2, 3, 3, [[2, 4], [3, 5]]);
    expect(net.node(3).logIds().slice(3)).toEqual(['2/4', '3/5']);
    return net;
  }

  function ask(net: Network, index: number, logTerm: number): string {
    net.send(msg({ type: MessageType.Vote, from: 1, to: 3, term: 4, index, logTerm }));
    net.deliverRound();
    return net.pending().find((l) => l.startsWith('3->1'))!;
  }

  it('vote refused when the candidate\'s last term is lower, however long its log', () => {
    expect(ask(voter(), 9, 2)).toBe('3->1 MsgVoteResp term=4 rejected');
  });

  it('vote refused when the last terms are equal and the candidate\'s log is shorter', () => {
    expect(ask(voter(), 4, 3)).toBe('3->1 MsgVoteResp term=4 rejected');
  });

  it('vote granted when the last terms are equal and the candidate\'s log is as long', () => {
    expect(ask(voter(), 5, 3)).toBe('3->1 MsgVoteResp term=4');
  });

  it('vote granted when the candidate\'s last term is higher, however short its log', () => {
    expect(ask(voter(), 4, 4)).toBe('3->1 MsgVoteResp term=4');
  });

  it('a refused vote still adopts the candidate\'s term but records no vote', () => {
    const net = voter();
    ask(net, 9, 2);
    expect(net.node(3).status()).toMatchObject({ term: 4, vote: 0, role: Role.Follower });
  });
});

describe('§8 client interaction: leader no-op', () => {
  it('a new leader appends an empty entry of its term and commits it', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const trace = net.elect(1);
    expect(trace).toContain('1->2 MsgApp term=2 index=3 logTerm=1 entries=[2/4] commit=3');
    const noop = net.node(1).node.logView().allEntries()[3]!;
    expect(noop).toMatchObject({ term: 2, index: 4 });
    expect(noop.data.byteLength).toBe(0);
    expect([1, 2, 3].map((id) => net.node(id).commit)).toEqual([4, 4, 4]);
  });
});
