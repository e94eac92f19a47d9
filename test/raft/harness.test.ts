/** The test network itself: determinism and the trace format. */
import { describe, expect, it } from 'vitest';
import { TRANSFER_CONTEXT } from '../../src/raft/raft.js';
import { ConfChangeType, EntryType, MessageType } from '../../src/raft/types.js';
import { encodeConfChange } from '../../src/raft/confchange.js';
import { formatMessage } from './format.js';
import { Network, bytes, ent, msg } from './harness.js';

function chaoticRun(seed: number): string[] {
  const net = new Network({ voters: [1, 2, 3, 4, 5], seed });
  let n = 0;
  for (let t = 0; t < 200; t++) {
    net.tickAll();
    if (t === 60) net.isolate(net.leader()?.id ?? 1);
    if (t === 120) net.heal();
    const leader = net.leader();
    if (leader && t % 7 === 0) net.propose(leader.id, `v${n++}`);
    net.deliverAll();
  }
  return net.takeTrace();
}

describe('test network', () => {
  it('is deterministic: the same seed gives the same trace, another seed a different one', () => {
    const a = chaoticRun(7);
    expect(a.length).toBeGreaterThan(500);
    expect(chaoticRun(7)).toEqual(a);
    expect(chaoticRun(8)).not.toEqual(a);
  });

  it.each([
    [msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 5, logTerm: 1, entries: [ent(2, 6)], commit: 5 }), '1->2 MsgApp term=2 index=5 logTerm=1 entries=[2/6] commit=5'],
    [msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 5, logTerm: 1, entries: [{ term: 2, index: 6, type: EntryType.ConfChange, data: encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3, context: new Uint8Array(0) }) }] }), '1->2 MsgApp term=2 index=5 logTerm=1 entries=[2/6:RemoveNode(3)] commit=0'],
    [msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 7, reject: true, rejectHint: 4, logTerm: 1 }), '2->1 MsgAppResp term=2 index=7 rejected hint=4/1'],
    [msg({ type: MessageType.Vote, from: 1, to: 2, term: 3, index: 9, logTerm: 2, context: TRANSFER_CONTEXT }), '1->2 MsgVote term=3 index=9 logTerm=2 transfer'],
    [msg({ type: MessageType.PreVoteResp, from: 2, to: 1, term: 3, reject: true }), '2->1 MsgPreVoteResp term=3 rejected'],
    [msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 2, commit: 4, context: new Uint8Array([0xff, 0]) }), '1->2 MsgHeartbeat term=2 commit=4 ctx=0xff00'],
    [msg({ type: MessageType.ReadIndexResp, from: 1, to: 2, term: 2, index: 4, context: bytes('r1') }), '1->2 MsgReadIndexResp term=2 index=4 ctx="r1"'],
    [msg({ type: MessageType.Snap, from: 1, to: 2, term: 2, snapshot: { meta: { index: 9, term: 2, conf: { voters: [1, 2], learners: [3] } }, data: new Uint8Array(0) } }), '1->2 MsgSnap term=2 snap=2/9 voters=[1,2] learners=[3]'],
    [msg({ type: MessageType.TimeoutNow, from: 1, to: 2, term: 2 }), '1->2 MsgTimeoutNow term=2'],
  ])('formats %#', (m, want) => {
    expect(formatMessage(m)).toBe(want);
  });
});
