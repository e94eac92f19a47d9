/** Leadership transfer (thesis §3.10), one rule per test. */
import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../src/raft/types.js';
import { Network, between, ofType } from './harness.js';

const ET = 10;

function stable(): Network {
  const net = new Network({ voters: [1, 2, 3] });
  net.elect(1);
  return net;
}

describe('leadership transfer', () => {
  it('a caught-up target gets TimeoutNow at once and wins an election that skips pre-vote and the lease', () => {
    const net = stable();
    net.transferLeadership(1, 2);
    expect(net.pending()).toEqual(['1->2 MsgTimeoutNow term=2']);
    net.deliverAll();
    const trace = net.takeTrace();
    expect(trace.slice(0, 6)).toEqual([
      '1->2 MsgTimeoutNow term=2',
      '2 is candidate term=3 leader=0',
      '2->1 MsgVote term=3 index=4 logTerm=2 transfer',
      '1 is follower term=3 leader=0',
      '2->3 MsgVote term=3 index=4 logTerm=2 transfer',
      '3 is follower term=3 leader=0',
    ]);
    expect(net.node(2).status()).toMatchObject({ role: Role.Leader, term: 3 });
    expect(net.node(1).status()).toMatchObject({ role: Role.Follower, term: 3, lead: 2 });
  });

  it('a target that is behind is caught up first, then gets TimeoutNow', () => {
    const net = stable();
    const stop = net.drop(between(1, 2));
    net.propose(1, 'x');
    net.deliverAll();
    stop();
    net.takeTrace();
    net.transferLeadership(1, 2);
    net.deliverAll();
    const trace = net.takeTrace();
    const appAt = trace.indexOf('1->2 MsgApp term=2 index=4 logTerm=2 entries=[2/5:"x"] commit=5');
    const timeoutAt = trace.indexOf('1->2 MsgTimeoutNow term=2');
    expect(appAt).toBeGreaterThanOrEqual(0);
    expect(timeoutAt).toBeGreaterThan(appAt);
    expect(net.node(2).status()).toMatchObject({ role: Role.Leader, term: 3 });
  });

  it('proposals are refused while a transfer is in progress', () => {
    const net = stable();
    net.isolate(2);
    net.transferLeadership(1, 2);
    expect(net.node(1).status().leadTransferee).toBe(2);
    expect(() => net.propose(1, 'x')).toThrow(expect.objectContaining({ name: 'TransferInProgressError', code: 'TRANSFER_IN_PROGRESS' }));
  });

  it('a transfer to an unreachable target is aborted after an election timeout', () => {
    const net = stable();
    net.isolate(2);
    net.transferLeadership(1, 2);
    for (let i = 0; i < ET; i++) {
      expect(net.node(1).status().leadTransferee).toBe(2);
      net.tick(1);
      net.deliverAll();
    }
    expect(net.node(1).status()).toMatchObject({ role: Role.Leader, term: 2, leadTransferee: 0 });
    net.propose(1, 'x');
    net.deliverAll();
    expect(net.node(3).applied).toEqual(['x']);
  });

  it('a transfer request sent to a follower is forwarded to the leader', () => {
    const net = stable();
    net.transferLeadership(3, 2);
    net.deliverAll();
    // As in etcd, the forwarded request names the transferee in `from`.
    expect(net.takeTrace().slice(0, 2)).toEqual(['2->1 MsgTransferLeader term=0', '1->2 MsgTimeoutNow term=2']);
    expect(net.node(2).role).toBe(Role.Leader);
  });

  it('transfer to the leader itself, or a repeated request, does nothing', () => {
    const net = stable();
    net.transferLeadership(1, 1);
    expect(net.pending()).toEqual([]);
    net.isolate(2);
    net.transferLeadership(1, 2);
    net.clearQueue();
    net.transferLeadership(1, 2);
    expect(net.pending()).toEqual([]);
    expect(net.node(1).status().leadTransferee).toBe(2);
  });

  it('a stale TimeoutNow from an old term is ignored', () => {
    const net = stable();
    net.transferLeadership(1, 2);
    const stale = net.queue[0]!;
    net.clearQueue();
    net.transferLeadership(1, 3); // a new request replaces the old one
    net.deliverAll();
    expect(net.node(3).status()).toMatchObject({ role: Role.Leader, term: 3 });
    net.send(stale);
    net.deliverAll();
    expect(net.node(2).status()).toMatchObject({ role: Role.Follower, term: 3, lead: 3 });
  });

  it('the new leader is not deposed by the old leader\'s later heartbeats', () => {
    const net = stable();
    net.transferLeadership(1, 2);
    net.deliverAll(ofType(MessageType.TimeoutNow));
    net.deliverAll();
    for (let i = 0; i < 3 * ET; i++) {
      net.tickAll();
      net.deliverAll();
    }
    expect(net.leader()?.id).toBe(2);
    expect(net.node(2).term).toBe(3);
  });
});
