/** Log compaction and InstallSnapshot (§7), and the progress state machine around it. */
import { describe, expect, it } from 'vitest';
import { MessageType, ProgressState } from '../../src/raft/types.js';
import { Network, ofType, type NetworkOptions } from './harness.js';

/** Node 3 misses a..e (5..9); node 1 then compacts its log through 8. */
function lagging(options: Partial<NetworkOptions> = {}, compactIndex = 8): Network {
  const net = new Network({ voters: [1, 2, 3], ...options });
  net.elect(1);
  net.isolate(3);
  for (const s of ['a', 'b', 'c', 'd', 'e']) net.propose(1, s);
  net.deliverAll();
  net.heal();
  net.compact(1, compactIndex);
  expect(net.node(1).status()).toMatchObject({ commit: 9, firstIndex: compactIndex + 1 });
  net.takeTrace();
  return net;
}

function state3(net: Network): ProgressState | undefined {
  return net.node(1).status().progress.get(3)?.state;
}

describe('snapshots', () => {
  it('a follower too far behind gets MsgSnap and restores state and configuration from it', () => {
    const net = lagging();
    net.tick(1);
    net.deliverAll();
    expect(net.takeTrace().filter((l) => l.includes('3'))).toEqual([
      '1->3 MsgHeartbeat term=2 commit=4',
      '3->1 MsgHeartbeatResp term=2',
      '1->3 MsgApp term=2 index=9 logTerm=2 commit=9',
      '3->1 MsgAppResp term=2 index=9 rejected hint=4/2',
      '1->3 MsgSnap term=2 snap=2/9 voters=[1,2,3] learners=[]',
      '3->1 MsgAppResp term=2 index=9',
      '1->3 MsgApp term=2 index=9 logTerm=2 commit=9',
      '3->1 MsgAppResp term=2 index=9',
    ]);
    expect(net.node(3).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(net.node(3).status()).toMatchObject({ commit: 9, applied: 9, firstIndex: 10, lastIndex: 9, conf: { voters: [1, 2, 3], learners: [] } });
    net.propose(1, 'f');
    net.deliverAll();
    expect(net.node(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('progress goes Snapshot -> Probe (on the transport\'s report) -> Replicate (on the follower\'s answer)', () => {
    const net = lagging({ autoReportSnapshot: false });
    net.tick(1);
    net.deliverAll((m) => m.type !== MessageType.Snap);
    expect(net.pending()).toEqual(['1->3 MsgSnap term=2 snap=2/9 voters=[1,2,3] learners=[]']);
    expect(state3(net)).toBe(ProgressState.Snapshot);
    // Nothing else is sent to a follower in Snapshot state.
    net.propose(1, 'f');
    expect(net.pending().filter((l) => l.startsWith('1->3'))).toEqual(['1->3 MsgSnap term=2 snap=2/9 voters=[1,2,3] learners=[]']);
    net.deliverRound(ofType(MessageType.Snap));
    net.with(1, (raw) => raw.reportSnapshot(3, true));
    expect(state3(net)).toBe(ProgressState.Probe);
    net.deliverRound((m) => m.type === MessageType.AppResp && m.from === 3);
    expect(state3(net)).toBe(ProgressState.Replicate);
    net.deliverAll();
    expect(net.node(3).applied).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('reportSnapshot failure: back to Probe, and the snapshot is retried after the next heartbeat answer', () => {
    const net = lagging();
    net.tick(1);
    const stop = net.drop(ofType(MessageType.Snap));
    net.deliverAll();
    stop();
    expect(net.takeTrace()).toContain('1->3 MsgSnap term=2 snap=2/9 voters=[1,2,3] learners=[]  DROPPED');
    expect(net.node(1).status().progress.get(3)).toMatchObject({ state: ProgressState.Probe, match: 4 });
    net.tick(1);
    net.deliverAll();
    expect(net.takeTrace()).toContain('1->3 MsgSnap term=2 snap=2/9 voters=[1,2,3] learners=[]');
    expect(net.node(3).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(state3(net)).toBe(ProgressState.Replicate);
  });

  it('a follower within the retained log is caught up with entries, not a snapshot', () => {
    const net = lagging({}, 4); // keeps 5..9: node 3 (at 4) can still be served from the log
    net.tick(1);
    net.deliverAll();
    expect(net.takeTrace().some((l) => l.includes('MsgSnap'))).toBe(false);
    expect(net.node(3).applied).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('reportUnreachable moves a follower in Replicate back to Probe', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.elect(1);
    expect(net.node(1).status().progress.get(2)?.state).toBe(ProgressState.Replicate);
    net.with(1, (raw) => raw.reportUnreachable(2));
    expect(net.node(1).status().progress.get(2)?.state).toBe(ProgressState.Probe);
  });
});
