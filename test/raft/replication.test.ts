/** Log replication, one rule per test: Figure 2 AppendEntries, §5.3, §5.4.2 (Figure 8). */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../src/raft/types.js';
import { Network, between, ent, msg, ofType } from './harness.js';

const PLAIN = { preVote: false, checkQuorum: false } as const;

/** Give node `to` the log [bootstrap 1..3, ...entries] by a hand-made append from `from` at `term`. */
function seedLog(net: Network, from: number, to: number, term: number, entries: [number, number][]): void {
  net.send(msg({ type: MessageType.App, from, to, term, index: 3, logTerm: 1, entries: entries.map(([t, i]) => ent(t, i)) }));
  net.deliverRound();
  net.clearQueue();
  net.takeTrace();
}

/** A follower (node 3) whose log is bootstrap 1..3 then 2/4, 2/5, 2/6, with commit 3. */
function followerWithTail(): Network {
  const net = new Network({ voters: [1, 2, 3], config: PLAIN });
  seedLog(net, 2, 3, 2, [[2, 4], [2, 5], [2, 6]]);
  expect(net.node(3).logIds()).toEqual(['1/1', '1/2', '1/3', '2/4', '2/5', '2/6']);
  return net;
}

function appendTo3(net: Network, fields: { term: number; index: number; logTerm: number; entries?: [number, number][]; commit?: number }): string[] {
  const entries = (fields.entries ?? []).map(([t, i]) => ent(t, i));
  net.send(msg({ type: MessageType.App, from: 1, to: 3, term: fields.term, index: fields.index, logTerm: fields.logTerm, entries, commit: fields.commit ?? 0 }));
  net.deliverRound();
  return net.pending();
}

describe('AppendEntries receiver (Figure 2)', () => {
  it('consistency check: rejects when the log has no entry at prevLogIndex with prevLogTerm, with a conflict hint', () => {
    const net = followerWithTail();
    // Entry 6 exists but has term 2: the hint says "my entry 6 is of term 2, skip everything above it".
    expect(appendTo3(net, { term: 4, index: 6, logTerm: 3, entries: [[4, 7]] })).toEqual(['3->1 MsgAppResp term=4 index=6 rejected hint=6/2']);
    expect(net.node(3).logIds()).toHaveLength(6);
  });

  it('consistency check: rejects when prevLogIndex is past the end of the log, hinting at the last index', () => {
    const net = followerWithTail();
    expect(appendTo3(net, { term: 4, index: 9, logTerm: 3 })).toEqual(['3->1 MsgAppResp term=4 index=9 rejected hint=6/2']);
  });

  it('conflicting entries are truncated: an entry with the same index but a different term replaces it and all that follow', () => {
    const net = followerWithTail();
    expect(appendTo3(net, { term: 3, index: 4, logTerm: 2, entries: [[3, 5]], commit: 4 })).toEqual(['3->1 MsgAppResp term=3 index=5']);
    expect(net.node(3).logIds()).toEqual(['1/1', '1/2', '1/3', '2/4', '3/5']);
    expect(net.node(3).storage.lastIndex()).toBe(5);
  });

  it('entries already present are not truncated by a stale or duplicate append', () => {
    const net = followerWithTail();
    expect(appendTo3(net, { term: 2, index: 3, logTerm: 1, entries: [[2, 4]], commit: 3 })).toEqual(['3->1 MsgAppResp term=2 index=4']);
    expect(net.node(3).logIds()).toHaveLength(6);
  });

  it('follower commit = min(leaderCommit, index of last new entry), never past what this append proved', () => {
    const net = followerWithTail();
    // The leader's commit is 6, but only entry 4 is proven to match the leader's log: 5 and 6 may not.
    appendTo3(net, { term: 3, index: 3, logTerm: 1, entries: [[2, 4]], commit: 6 });
    expect(net.node(3).commit).toBe(4);
    appendTo3(net, { term: 3, index: 4, logTerm: 2, entries: [[2, 5], [2, 6]], commit: 5 });
    expect(net.node(3).commit).toBe(5);
  });

  it('an append below the commit index is answered with the commit index', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    expect(appendTo3(net, { term: 2, index: 2, logTerm: 1, entries: [[1, 3]] })).toEqual(['3->1 MsgAppResp term=2 index=4']);
  });

  it('append acknowledgements are sent only after the entries are persisted', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).node.propose(new Uint8Array([1]));
    net.processReady(1);
    net.node(2).node.step(net.queue.find((m) => m.to === 2)!);
    const rd = net.node(2).node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([5]);
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist.map((m) => [m.type, m.index])).toEqual([[MessageType.AppResp, 5]]);
  });
});

describe('§5.3 leader side', () => {
  it('the leader skips a whole conflicting term per round trip using the hint, then repairs the follower log', () => {
    const net = new Network({ voters: [1, 2, 3], config: PLAIN });
    net.elect(1);
    // Term 2: node 1 appends three entries nobody else gets.
    const stopDrop = net.drop(ofType(MessageType.App));
    net.with(1, (raw) => ['a', 'b', 'c'].forEach((s) => raw.propose(new TextEncoder().encode(s))));
    net.deliverAll();
    stopDrop();
    // Term 3: node 2 leads with node 3 and appends three more.
    net.isolate(1);
    net.elect(2);
    for (const s of ['d', 'e', 'f']) net.propose(2, s);
    net.deliverAll();
    // Term 4: node 3 leads with node 1's vote; node 2 is gone.
    net.heal();
    net.crash(2);
    net.takeTrace();
    expect(net.elect(3).filter((l) => l.startsWith('3->1 MsgApp') || l.startsWith('1->3 MsgAppResp'))).toEqual([
      '3->1 MsgApp term=4 index=8 logTerm=3 entries=[4/9] commit=8',
      '1->3 MsgAppResp term=4 index=8 rejected hint=7/2',
      '3->1 MsgApp term=4 index=4 logTerm=2 entries=[3/5,3/6:"d",3/7:"e",3/8:"f",4/9] commit=8',
      '1->3 MsgAppResp term=4 index=9',
      '3->1 MsgApp term=4 index=9 logTerm=4 commit=9',
      '1->3 MsgAppResp term=4 index=9',
    ]);
    expect(net.node(1).logIds()).toEqual(net.node(3).logIds());
    expect(net.node(1).applied).toEqual(['d', 'e', 'f']);
  });

  it('heartbeats never tell a follower to commit past what it is known to hold', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    const stop = net.drop(between(1, 3));
    net.propose(1, 'x');
    net.deliverAll();
    stop();
    expect(net.node(1).commit).toBe(5);
    net.tick(1);
    expect(net.pending()).toEqual(['1->2 MsgHeartbeat term=2 commit=5', '1->3 MsgHeartbeat term=2 commit=4']);
  });
});

describe('§5.4.2 committing entries from previous terms (Figure 8)', () => {
  /**
   * Node 1 (term 2) appends 2/5 alone; node 2 (term 3) appends 3/5 alone; node 1 (term 4) copies
   * 2/5 to node 3, so 2/5 is on a majority, and the append carrying its own 4/6 is held back.
   * Node 1 sends one entry per append so the two can be told apart.
   */
  function figure8(broken = false): Network {
    const net = new Network({
      voters: [1, 2, 3],
      config: { ...PLAIN, ...(broken ? { broken: { commitPreviousTermByCounting: true } } : {}) },
      configFor: (id) => (id === 1 ? { appendBytesMax: 1 } : {}),
    });
    net.elect(1);
    const stop = net.drop(ofType(MessageType.App));
    net.propose(1, 'x');
    net.deliverAll();
    stop();
    net.isolate(1);
    net.drop((m) => m.type === MessageType.App && m.from === 2);
    net.elect(2);
    net.crash(2);
    net.heal();
    net.crash(1);
    net.restart(1);
    net.campaign(1); // term 3: node 3 already voted for 2
    net.deliverAll();
    net.takeTrace();
    // Hold back 4/6 once node 3 has 2/5 (the first probe, which node 3 rejects, also carries 4/6).
    net.drop((m) => m.type === MessageType.App && m.entries.some((e) => e.index === 6) && net.node(3).storage.lastIndex() === 5);
    net.elect(1); // term 4
    return net;
  }

  it('an entry of a previous term on a majority is NOT committed by counting replicas', () => {
    const net = figure8();
    expect(net.node(1).logIds().slice(3)).toEqual(['2/4', '2/5', '4/6']);
    expect(net.node(3).logIds().slice(3)).toEqual(['2/4', '2/5']);
    expect(net.node(1).status().progress.get(3)?.match).toBe(5);
    expect(net.node(1).commit).toBe(4);
    // Why it must not be: node 2 (last term 3) can still win node 3's vote and overwrite index 5.
    net.crash(1);
    net.heal();
    net.restart(2);
    net.campaign(2); // term 4: node 3 voted for 1 already
    net.deliverAll();
    net.elect(2); // term 5
    expect(net.node(3).logIds().slice(3)).toEqual(['2/4', '3/5', '5/6']);
  });

  it('it is committed, with everything before it, once an entry of the current term is', () => {
    const net = figure8();
    net.heal();
    net.tick(1); // the heartbeat answer makes the leader resend 4/6
    net.deliverAll();
    expect([1, 3].map((id) => net.node(id).commit)).toEqual([6, 6]);
    expect(net.node(3).applied).toEqual(['x']);
  });

  it('with the rule broken, the same schedule commits 2/5 and then loses it (the bug the rule prevents)', () => {
    const net = figure8(true);
    expect(net.node(1).commit).toBe(5);
    expect(net.node(1).applied).toEqual(['x']);
    net.crash(1);
    net.heal();
    net.restart(2);
    net.campaign(2);
    net.deliverAll();
    net.elect(2);
    // Node 3 commits a different entry at index 5 than node 1 applied: a State Machine Safety violation.
    expect(net.node(3).logIds()[4]).toBe('3/5');
    expect(net.node(3).commit).toBeGreaterThanOrEqual(5);
  });
});

describe('flow control and batching', () => {
  it('proposals made in one turn go out as one MsgApp per follower', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.with(1, (raw) => ['a', 'b', 'c'].forEach((s) => raw.propose(new TextEncoder().encode(s))));
    expect(net.pending()).toEqual([
      '1->2 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"a",2/6:"b",2/7:"c"] commit=4',
      '1->3 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"a",2/6:"b",2/7:"c"] commit=4',
    ]);
  });

  it('Probe sends one append at a time until the follower answers', () => {
    const net = new Network({ voters: [1, 2] });
    net.campaign(1);
    net.deliverAll(ofType(MessageType.PreVote, MessageType.PreVoteResp, MessageType.Vote, MessageType.VoteResp));
    net.takeTrace();
    // The new leader probes with its no-op; further proposals wait for the answer.
    net.propose(1, 'a');
    net.propose(1, 'b');
    expect(net.pending()).toEqual(['1->2 MsgApp term=2 index=2 logTerm=1 entries=[2/3] commit=2']);
    expect(net.node(1).status().progress.get(2)).toMatchObject({ state: 0, inflight: 0 });
    net.deliverRound();
    net.deliverRound();
    expect(net.takeTrace()).toEqual([
      '1->2 MsgApp term=2 index=2 logTerm=1 entries=[2/3] commit=2',
      '2 is follower term=2 leader=1',
      '2->1 MsgAppResp term=2 index=3',
    ]);
    // Answered: the follower is in Replicate and gets the rest in one message.
    expect(net.pending()).toEqual(['1->2 MsgApp term=2 index=3 logTerm=2 entries=[2/4:"a",2/5:"b"] commit=3']);
    expect(net.node(1).status().progress.get(2)?.state).toBe(1);
  });

  it('a lost probe is retried after the next heartbeat response', () => {
    const net = new Network({ voters: [1, 2] });
    net.campaign(1);
    const stop = net.drop(ofType(MessageType.App));
    net.deliverAll();
    stop();
    net.takeTrace();
    net.tick(1);
    net.deliverAll();
    expect(net.takeTrace()).toEqual([
      '1->2 MsgHeartbeat term=2 commit=0',
      '2 is follower term=2 leader=1',
      '2->1 MsgHeartbeatResp term=2',
      '1->2 MsgApp term=2 index=2 logTerm=1 entries=[2/3] commit=2',
      '2->1 MsgAppResp term=2 index=3',
      '1->2 MsgApp term=2 index=3 logTerm=2 commit=3',
      '2->1 MsgAppResp term=2 index=3',
    ]);
  });

  it('the inflight limit pauses a follower in Replicate until acknowledgements free the window', () => {
    const net = new Network({ voters: [1, 2], config: { inflightMessagesMax: 2 } });
    net.elect(1);
    for (const s of ['a', 'b', 'c', 'd']) net.propose(1, s);
    expect(net.pending()).toEqual([
      '1->2 MsgApp term=2 index=3 logTerm=2 entries=[2/4:"a"] commit=3',
      '1->2 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"b"] commit=3',
    ]);
    expect(net.node(1).status().progress.get(2)).toMatchObject({ state: 1, inflight: 2 });
    net.deliverRound();
    net.deliverRound((m) => m.type === MessageType.AppResp && m.index === 4);
    // One slot freed: c and d go out together, and the window is full again... with one message.
    expect(net.pending()).toEqual([
      '2->1 MsgAppResp term=2 index=5',
      '1->2 MsgApp term=2 index=5 logTerm=2 entries=[2/6:"c",2/7:"d"] commit=4',
    ]);
    net.deliverAll();
    expect(net.node(2).applied).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a heartbeat response frees one inflight slot of a full window (so a lost ack cannot stall it)', () => {
    const net = new Network({ voters: [1, 2], config: { inflightMessagesMax: 1 } });
    net.elect(1);
    net.propose(1, 'a');
    net.clearQueue(); // the append is lost
    net.propose(1, 'b');
    expect(net.pending()).toEqual([]);
    net.tick(1);
    net.deliverAll();
    expect(net.node(2).applied).toEqual(['a', 'b']);
  });

  it('uncommitted-bytes limit: proposals are refused with OverloadedError until entries commit', () => {
    const net = new Network({ voters: [1, 2, 3], config: { uncommittedBytesMax: 10 } });
    net.elect(1);
    net.isolate(1);
    net.propose(1, 'aaaaaaaa');
    expect(() => net.propose(1, 'bbbbbbbb')).toThrow(expect.objectContaining({ name: 'OverloadedError', code: 'OVERLOADED' }));
    net.heal();
    net.tick(1);
    net.deliverAll();
    expect(net.node(1).applied).toEqual(['aaaaaaaa']);
    net.propose(1, 'bbbbbbbb');
    net.deliverAll();
    expect(net.node(2).applied).toEqual(['aaaaaaaa', 'bbbbbbbb']);
  });
});

describe('the leader writes its log in parallel with replication (thesis §10.2.1)', () => {
  it('a crash between send and persist does not commit the unpersisted entry by counting the leader', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).node.propose(new TextEncoder().encode('x'));
    const rd = net.sendOnly(1); // MsgApp sent, entry 5 not yet on the leader's disk
    expect(rd.entries.map((e) => e.index)).toEqual([5]);
    net.drop(between(1, 3));
    net.deliverAll();
    // Node 2 holds 5; the leader does not (yet): one durable copy of three is not a majority.
    expect(net.node(1).status().progress.get(2)?.match).toBe(5);
    expect(net.node(1).status().progress.get(1)?.match).toBe(4);
    expect(net.node(1).commit).toBe(4);
    net.crash(1);
    net.restart(1);
    expect(net.node(1).status().lastIndex).toBe(4);
    expect(net.node(2).commit).toBe(4);
  });

  it('once persisted, the leader counts itself', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).node.propose(new TextEncoder().encode('x'));
    const rd = net.sendOnly(1);
    net.drop(between(1, 3));
    net.deliverAll();
    net.finishReady(1, rd);
    net.processReady(1);
    expect(net.node(1).commit).toBe(5);
  });
});
