/** Linearizable reads with ReadIndex (thesis §6.4), one rule per test. */
import { describe, expect, it } from 'vitest';
import { MessageType } from '../../src/raft/types.js';
import { Network, bytes, ofType } from './harness.js';

const text = new TextDecoder();

function reads(net: Network, id: number): string[] {
  return net.node(id).readStates.map((r) => `${text.decode(r.context)}@${r.index}`);
}

function heartbeatsQueued(net: Network): number {
  return net.queue.filter(ofType(MessageType.Heartbeat)).length;
}

describe('ReadIndex', () => {
  it('refused (queued) until an entry of the current term commits, then answered', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    // Elected, but its no-op is not yet acknowledged: the commit index may be stale.
    net.deliverAll(ofType(MessageType.PreVote, MessageType.PreVoteResp, MessageType.Vote, MessageType.VoteResp));
    expect(net.node(1).commit).toBe(3);
    net.readIndex(1, 'r1');
    expect(heartbeatsQueued(net)).toBe(0);
    net.deliverAll();
    expect(net.node(1).commit).toBe(4);
    expect(reads(net, 1)).toEqual(['r1@4']);
  });

  it('answered after one heartbeat round carrying the request context', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.readIndex(1, 'r1');
    expect(net.pending()).toEqual(['1->2 MsgHeartbeat term=2 commit=4 ctx="r1"', '1->3 MsgHeartbeat term=2 commit=4 ctx="r1"']);
    expect(reads(net, 1)).toEqual([]);
    net.deliverAll();
    expect(net.takeTrace()).toEqual([
      '1->2 MsgHeartbeat term=2 commit=4 ctx="r1"',
      '1->3 MsgHeartbeat term=2 commit=4 ctx="r1"',
      '2->1 MsgHeartbeatResp term=2 ctx="r1"',
      '3->1 MsgHeartbeatResp term=2 ctx="r1"',
    ]);
    expect(reads(net, 1)).toEqual(['r1@4']);
  });

  it('many reads in one turn share one heartbeat round', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.with(1, (raw) => ['r1', 'r2', 'r3', 'r4'].forEach((c) => raw.readIndex(bytes(c))));
    expect(heartbeatsQueued(net)).toBe(2);
    expect(net.pending()).toEqual(['1->2 MsgHeartbeat term=2 commit=4 ctx="r4"', '1->3 MsgHeartbeat term=2 commit=4 ctx="r4"']);
    net.deliverAll();
    expect(reads(net, 1)).toEqual(['r1@4', 'r2@4', 'r3@4', 'r4@4']);
  });

  it('answered only once a quorum (counting the leader) has acknowledged the round', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.readIndex(1, 'r1');
    net.deliverRound();
    net.deliverRound((m) => m.from === 2);
    expect(reads(net, 1)).toEqual([]);
    net.deliverRound((m) => m.from === 3);
    expect(reads(net, 1)).toEqual(['r1@6']);
  });

  it('a leader cut off from the quorum never answers (it may have been deposed)', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.readIndex(1, 'r1');
    for (let i = 0; i < 5; i++) {
      net.tick(1);
      net.deliverAll();
    }
    expect(reads(net, 1)).toEqual([]);
  });

  it('the read index is the commit index when the request arrived, not when it is answered', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.readIndex(1, 'r1');
    net.propose(1, 'x');
    net.deliverAll();
    expect(net.node(1).commit).toBe(5);
    expect(reads(net, 1)).toEqual(['r1@4']);
  });

  it('a follower\'s ReadIndex is forwarded to the leader and answered to the follower', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.readIndex(2, 'f1');
    net.deliverAll();
    expect(net.takeTrace()).toEqual([
      '2->1 MsgReadIndex term=0 ctx="f1"',
      '1->2 MsgHeartbeat term=2 commit=4 ctx="f1"',
      '1->3 MsgHeartbeat term=2 commit=4 ctx="f1"',
      '2->1 MsgHeartbeatResp term=2 ctx="f1"',
      '3->1 MsgHeartbeatResp term=2 ctx="f1"',
      '1->2 MsgReadIndexResp term=2 index=4 ctx="f1"',
    ]);
    expect(reads(net, 2)).toEqual(['f1@4']);
    expect(reads(net, 1)).toEqual([]);
  });

  it('a node that knows no leader refuses a read', () => {
    const net = new Network({ voters: [1, 2, 3] });
    expect(() => net.readIndex(2, 'r')).toThrow(expect.objectContaining({ code: 'NO_LEADER' }));
  });

  it('a single-voter leader answers at once, without a round', () => {
    const net = new Network({ voters: [1] });
    net.campaign(1);
    net.readIndex(1, 'r1');
    expect(net.pending()).toEqual([]);
    expect(reads(net, 1)).toEqual(['r1@2']);
  });

  it('contract: a context must be unique cluster-wide while in flight; a duplicate from another node is ignored', () => {
    // The leader keys pending reads by context alone (as etcd does), so the host must put the
    // node id (or a random id) into every context, not just a per-node counter.
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    net.readIndex(2, 'same');
    net.readIndex(3, 'same');
    net.deliverAll();
    expect([reads(net, 2), reads(net, 3)]).toEqual([['same@4'], []]);
  });
});
