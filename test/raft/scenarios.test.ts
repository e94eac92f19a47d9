/**
 * Protocol scenarios recorded as message traces, to be read like etcd's testdata/*.txt. Each line is
 * one delivered message (`DROPPED` when the network lost it) or a role change seen in a Ready.
 * Lines starting with `#` in an expected trace are comments.
 */
import { describe, expect, it } from 'vitest';
import { ConfChangeType, Role } from '../../src/raft/types.js';
import { Network } from './harness.js';

function expectTrace(actual: string[], expected: string): void {
  const want = expected
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  expect(actual).toEqual(want);
}

describe('scenario traces', () => {
  it('a 3-node election: pre-vote, vote, then the no-op commits', () => {
    const net = new Network({ voters: [1, 2, 3] });
    expectTrace(
      net.elect(1),
      `
      1 is pre-candidate term=1 leader=0
      # pre-vote asks for term 2 without moving to it
      1->2 MsgPreVote term=2 index=3 logTerm=1
      1->3 MsgPreVote term=2 index=3 logTerm=1
      2->1 MsgPreVoteResp term=2
      1 is candidate term=2 leader=0
      # a late pre-vote answer is ignored by the candidate
      3->1 MsgPreVoteResp term=2
      1->2 MsgVote term=2 index=3 logTerm=1
      1->3 MsgVote term=2 index=3 logTerm=1
      2->1 MsgVoteResp term=2
      1 is leader term=2
      3->1 MsgVoteResp term=2
      # the no-op of term 2 probes each follower
      1->2 MsgApp term=2 index=3 logTerm=1 entries=[2/4] commit=3
      2 is follower term=2 leader=1
      1->3 MsgApp term=2 index=3 logTerm=1 entries=[2/4] commit=3
      3 is follower term=2 leader=1
      2->1 MsgAppResp term=2 index=4
      3->1 MsgAppResp term=2 index=4
      # committed on a majority: the new commit index goes out
      1->2 MsgApp term=2 index=4 logTerm=2 commit=4
      1->3 MsgApp term=2 index=4 logTerm=2 commit=4
      2->1 MsgAppResp term=2 index=4
      3->1 MsgAppResp term=2 index=4
      `,
    );
  });

  it('a replication round: append, acknowledge, commit', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, 'x');
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      1->2 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"x"] commit=4
      1->3 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"x"] commit=4
      2->1 MsgAppResp term=2 index=5
      3->1 MsgAppResp term=2 index=5
      1->2 MsgApp term=2 index=5 logTerm=2 commit=5
      1->3 MsgApp term=2 index=5 logTerm=2 commit=5
      2->1 MsgAppResp term=2 index=5
      3->1 MsgAppResp term=2 index=5
      `,
    );
    expect([1, 2, 3].map((id) => net.node(id).applied)).toEqual([['x'], ['x'], ['x']]);
  });

  it('the leader is isolated, the rest elect a new one, and the old leader steps down on rejoin', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.propose(1, 'lost');
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      1->2 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"lost"] commit=4  DROPPED
      1->3 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"lost"] commit=4  DROPPED
      `,
    );
    // Node 3's lease on leader 1 runs out; node 2's election timeout fires.
    net.tick(3, 10);
    while (net.node(2).role === Role.Follower) net.tick(2);
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      2 is pre-candidate term=2 leader=0
      2->1 MsgPreVote term=3 index=4 logTerm=2  DROPPED
      2->3 MsgPreVote term=3 index=4 logTerm=2
      3->2 MsgPreVoteResp term=3
      2 is candidate term=3 leader=0
      2->1 MsgVote term=3 index=4 logTerm=2  DROPPED
      2->3 MsgVote term=3 index=4 logTerm=2
      3 is follower term=3 leader=0
      3->2 MsgVoteResp term=3
      2 is leader term=3
      2->1 MsgApp term=3 index=4 logTerm=2 entries=[3/5] commit=4  DROPPED
      2->3 MsgApp term=3 index=4 logTerm=2 entries=[3/5] commit=4
      3 is follower term=3 leader=2
      3->2 MsgAppResp term=3 index=5
      2->3 MsgApp term=3 index=5 logTerm=3 commit=5
      3->2 MsgAppResp term=3 index=5
      `,
    );
    net.heal();
    net.tick(1);
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      # the old leader's heartbeats are stale: the answers carry term 3 and depose it
      1->2 MsgHeartbeat term=2 commit=4
      1->3 MsgHeartbeat term=2 commit=4
      2->1 MsgAppResp term=3 index=0
      1 is follower term=3 leader=0
      3->1 MsgAppResp term=3 index=0
      `,
    );
    net.tick(2);
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      2->1 MsgHeartbeat term=3 commit=0
      1 is follower term=3 leader=2
      2->3 MsgHeartbeat term=3 commit=5
      1->2 MsgHeartbeatResp term=3
      3->2 MsgHeartbeatResp term=3
      # the probe replaces node 1's uncommitted 2/5 with 3/5
      2->1 MsgApp term=3 index=4 logTerm=2 entries=[3/5] commit=5
      1->2 MsgAppResp term=3 index=5
      2->1 MsgApp term=3 index=5 logTerm=3 commit=5
      1->2 MsgAppResp term=3 index=5
      `,
    );
    expect(net.node(1).logIds()).toEqual(['1/1', '1/2', '1/3', '2/4', '3/5']);
  });

  it('leadership transfer: TimeoutNow, then an election that bypasses the lease', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.transferLeadership(1, 3);
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      # node 3 is caught up (match = last index), so TimeoutNow goes out at once
      1->3 MsgTimeoutNow term=2
      3 is candidate term=3 leader=0
      3->1 MsgVote term=3 index=4 logTerm=2 transfer
      1 is follower term=3 leader=0
      3->2 MsgVote term=3 index=4 logTerm=2 transfer
      2 is follower term=3 leader=0
      1->3 MsgVoteResp term=3
      3 is leader term=3
      2->3 MsgVoteResp term=3
      3->1 MsgApp term=3 index=4 logTerm=2 entries=[3/5] commit=4
      1 is follower term=3 leader=3
      3->2 MsgApp term=3 index=4 logTerm=2 entries=[3/5] commit=4
      2 is follower term=3 leader=3
      1->3 MsgAppResp term=3 index=5
      2->3 MsgAppResp term=3 index=5
      3->1 MsgApp term=3 index=5 logTerm=3 commit=5
      3->2 MsgApp term=3 index=5 logTerm=3 commit=5
      1->3 MsgAppResp term=3 index=5
      2->3 MsgAppResp term=3 index=5
      `,
    );
  });

  it('a follower behind the compacted log catches up by snapshot', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    for (const s of ['a', 'b', 'c']) net.propose(1, s);
    net.deliverAll();
    net.heal();
    net.compact(1, 6);
    net.takeTrace();
    net.tick(1);
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      1->2 MsgHeartbeat term=2 commit=7
      1->3 MsgHeartbeat term=2 commit=4
      2->1 MsgHeartbeatResp term=2
      3->1 MsgHeartbeatResp term=2
      # the optimistic append (next=8) is refused; entry 5 is compacted away on the leader
      1->3 MsgApp term=2 index=7 logTerm=2 commit=7
      3->1 MsgAppResp term=2 index=7 rejected hint=4/2
      1->3 MsgSnap term=2 snap=2/7 voters=[1,2,3] learners=[]
      3->1 MsgAppResp term=2 index=7
      1->3 MsgApp term=2 index=7 logTerm=2 commit=7
      3->1 MsgAppResp term=2 index=7
      `,
    );
    expect(net.node(3).applied).toEqual(['a', 'b', 'c']);
  });

  it('a learner joins with an empty log, then is promoted to voter', () => {
    const net = new Network({ voters: [1, 2] });
    net.elect(1);
    net.addNode(3).start();
    net.proposeConfChange(1, { type: ConfChangeType.AddLearner, nodeId: 3 });
    net.deliverAll();
    expectTrace(
      net.takeTrace(),
      `
      1->2 MsgApp term=2 index=3 logTerm=2 entries=[2/4:AddLearner(3)] commit=3
      2->1 MsgAppResp term=2 index=4
      # committed: one commit append, and one more when the leader applies the change
      1->2 MsgApp term=2 index=4 logTerm=2 commit=4
      1->2 MsgApp term=2 index=4 logTerm=2 commit=4
      1->3 MsgApp term=2 index=4 logTerm=2 commit=4
      3 is follower term=2 leader=1
      2->1 MsgAppResp term=2 index=4
      2->1 MsgAppResp term=2 index=4
      # the learner has nothing: one rejection, then the whole log including the membership history
      3->1 MsgAppResp term=2 index=4 rejected hint=0/0
      1->3 MsgApp term=2 index=0 logTerm=0 entries=[1/1:AddVoter(1),1/2:AddVoter(2),2/3,2/4:AddLearner(3)] commit=4
      3->1 MsgAppResp term=2 index=4
      1->3 MsgApp term=2 index=4 logTerm=2 commit=4
      3->1 MsgAppResp term=2 index=4
      `,
    );
    net.proposeConfChange(1, { type: ConfChangeType.AddVoter, nodeId: 3 });
    net.deliverRound();
    net.deliverRound();
    expectTrace(
      net.takeTrace(),
      `
      1->2 MsgApp term=2 index=4 logTerm=2 entries=[2/5:AddVoter(3)] commit=4
      1->3 MsgApp term=2 index=4 logTerm=2 entries=[2/5:AddVoter(3)] commit=4
      2->1 MsgAppResp term=2 index=5
      3->1 MsgAppResp term=2 index=5
      `,
    );
    net.deliverAll();
    expect([1, 2, 3].map((id) => net.node(id).conf.voters)).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  });
});
