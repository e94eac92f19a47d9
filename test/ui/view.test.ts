/** The page's pure parts: member rows and health, events from stats snapshots, latency quantiles. */
import { describe, expect, it } from 'vitest';
import { MemberState, type MemberView } from '../../src/gossip/types.js';
import { ProgressState, Role, type ProgressStatus } from '../../src/raft/types.js';
import { EventLog, EVENTS_MAX } from '../../src/ui/events.js';
import { registerGrpcMetrics } from '../../src/metrics/grpc-collector.js';
import { Registry } from '../../src/metrics/registry.js';
import { quantileFromBuckets, RateSampler } from '../../src/ui/rates.js';
import type { RaftStats } from '../../src/ui/sources.js';
import { buildView, HTTP_ADDR_TAG, LAG_WARN_ENTRIES } from '../../src/ui/view.js';

/** The stats the page reads, as RaftNode.stats() returns them. */
function stats(o: { id: number; role: Role; lead: number; voters: number[]; learners?: number[]; lastIndex?: number; progress?: Array<[number, number]>; contact?: Array<[number, number]>; snapshotsTaken?: number; lastSnapshotIndex?: number }): RaftStats {
  const progress = new Map<number, ProgressStatus>((o.progress ?? []).map(([id, match]) => [id, { match, next: match + 1, state: ProgressState.Replicate, isLearner: false, recentActive: true, inflight: 0 }]));
  return {
    raft: { id: o.id, term: 5, vote: o.lead, commit: 10, applied: 10, lead: o.lead, role: o.role, lastIndex: o.lastIndex ?? 10, firstIndex: 1, conf: { voters: o.voters, learners: o.learners ?? [] }, leadTransferee: 0, progress },
    appliedIndex: 10, snapshotsTaken: o.snapshotsTaken ?? 0, lastSnapshotIndex: o.lastSnapshotIndex ?? 0, pendingProposals: 0, pendingReads: 0,
    lastContactMs: new Map(o.contact ?? []),
    transport: { snapshotsSent: 0 },
  };
}

function member(id: number, state: MemberState, http?: string): MemberView {
  return { name: String(id), addr: `127.0.0.1:${7000 + id}`, incarnation: 1, state, stateChangeMs: 0, meta: { nodeId: String(id), raftAddr: `127.0.0.1:${8000 + id}`, grpcAddr: `127.0.0.1:${9000 + id}`, version: '0.1.0', tags: http ? { [HTTP_ADDR_TAG]: http } : {} } };
}

describe('buildView', () => {
  it('joins gossip and raft members on the id and judges each one', () => {
    const v = buildView({
      stats: stats({ id: 1, role: Role.Leader, lead: 1, voters: [1, 2, 3], learners: [4], lastIndex: 500, progress: [[1, 500], [2, 499], [3, 500 - LAG_WARN_ENTRIES - 1], [4, 500]], contact: [[2, 50], [3, 60], [4, 5_000]] }),
      gossipMembers: [member(1, MemberState.Alive), member(2, MemberState.Alive, '127.0.0.1:6002'), member(3, MemberState.Alive), member(4, MemberState.Alive), member(5, MemberState.Alive), member(6, MemberState.Dead)],
      gossipHealthScore: 0, selfHttpAddr: '127.0.0.1:6001', leaderProgress: null, contactWarnMs: 1_000,
    });
    expect(v.progressSource.kind).toBe('self');
    expect(v.members.map((m) => [m.id, m.raftRole, m.suffrage, m.gossipState, m.lag, m.health])).toEqual([
      [1, 'leader', 'voter', 'alive', 0, 'healthy'],
      [2, 'follower', 'voter', 'alive', 1, 'healthy'],
      [3, 'follower', 'voter', 'alive', LAG_WARN_ENTRIES + 1, 'lagging'],
      [4, 'learner', 'learner', 'alive', 0, 'unreachable'],
      [5, null, null, 'alive', null, 'joining'],
      [6, null, null, 'dead', null, 'down'],
    ]);
    expect(v.members.map((m) => m.httpAddr)).toEqual(['127.0.0.1:6001', '127.0.0.1:6002', null, null, null, null]);
  });

  it('on a follower, uses the leader\'s progress when it has it and says whose view it shows', () => {
    const base = { stats: stats({ id: 2, role: Role.Follower, lead: 1, voters: [1, 2, 3], contact: [[1, 40]] }), gossipMembers: null, gossipHealthScore: null, selfHttpAddr: 'h:2', contactWarnMs: 1_000 };
    const own = buildView({ ...base, leaderProgress: null });
    expect(own.progressSource).toMatchObject({ kind: 'none', leaderId: 1 });
    expect(own.members.map((m) => [m.id, m.match, m.lastContactMs, m.health])).toEqual([[1, null, 40, 'healthy'], [2, null, 0, 'healthy'], [3, null, null, 'unknown']]);
    const asked = buildView({ ...base, leaderProgress: { leaderId: 1, rows: [{ id: 1, match: 10, lag: 0, state: 'replicate', lastContactMs: 0 }, { id: 2, match: 10, lag: 0, state: 'replicate', lastContactMs: 30 }, { id: 3, match: 9, lag: 1, state: 'replicate', lastContactMs: 20 }] } });
    expect(asked.progressSource).toMatchObject({ kind: 'leader', leaderId: 1 });
    expect(asked.members.map((m) => [m.id, m.match, m.lastContactMs, m.health])).toEqual([[1, 10, 40, 'healthy'], [2, 10, 0, 'healthy'], [3, 9, 20, 'healthy']]);
    // Progress from a node that is no longer the leader is not used.
    expect(buildView({ ...base, leaderProgress: { leaderId: 3, rows: [] } }).progressSource.kind).toBe('none');
  });
});

describe('EventLog', () => {
  it('reports configuration changes and snapshots between two snapshots, not the starting state', () => {
    let now = 0;
    const log = new EventLog(() => ++now);
    log.observe(stats({ id: 1, role: Role.Leader, lead: 1, voters: [1, 2, 3], learners: [4] }));
    expect(log.recent()).toEqual([]);
    log.observe(stats({ id: 1, role: Role.Leader, lead: 1, voters: [1, 2, 4], learners: [5], snapshotsTaken: 1, lastSnapshotIndex: 40 }));
    expect(log.recent().map((e) => [e.kind, e.text]).reverse()).toEqual([
      ['promoted', 'node 4 was promoted from learner to voter'],
      ['added', 'node 5 was added as a learner'],
      ['removed', 'node 3 was removed from the raft configuration'],
      ['snapshot', 'snapshot taken at index 40'],
    ]);
    log.observe(stats({ id: 1, role: Role.Leader, lead: 1, voters: [1, 2, 4], learners: [5], snapshotsTaken: 1, lastSnapshotIndex: 90 }));
    expect(log.recent(1)[0]!.text).toBe('snapshot at index 90 installed from the leader');
  });

  it('keeps at most EVENTS_MAX events, newest first', () => {
    const log = new EventLog();
    for (let i = 0; i < EVENTS_MAX + 10; i++) log.leaderChanged({ id: i, term: i });
    const all = log.recent(EVENTS_MAX * 2);
    expect(all.length).toBe(EVENTS_MAX);
    expect(all[0]!.text).toBe(`node ${EVENTS_MAX + 9} is leader (term ${EVENTS_MAX + 9})`);
  });
});

describe('quantileFromBuckets', () => {
  const before = new Map([[0.001, 0], [0.01, 0], [0.1, 0], [Infinity, 0]]);
  it('interpolates inside the bucket that holds the rank', () => {
    // 10 observations: 5 up to 1 ms, 4 in (1, 10] ms, 1 in (10, 100] ms (cumulative counts).
    const after = new Map([[0.001, 5], [0.01, 9], [0.1, 10], [Infinity, 10]]);
    expect(quantileFromBuckets(0.5, before, after)).toBeCloseTo(0.001);
    expect(quantileFromBuckets(0.9, before, after)).toBeCloseTo(0.01);
    expect(quantileFromBuckets(0.99, before, after)).toBeCloseTo(0.01 + 0.09 * 0.9);
  });
  it('is null without observations and the last finite bound beyond it', () => {
    expect(quantileFromBuckets(0.5, before, before)).toBeNull();
    expect(quantileFromBuckets(0.99, before, new Map([[0.001, 0], [0.01, 0], [0.1, 0], [Infinity, 3]]))).toBe(0.1);
  });
});

describe('RateSampler', () => {
  it('counts calls made before raft runs against a baseline taken at the start, and leaves out watches', async () => {
    const r = new Registry();
    const observe = registerGrpcMetrics(r);
    const sampler = new RateSampler(r);
    await sampler.sample(1_000, null); // the page starts before raft does
    for (let i = 0; i < 8; i++) observe('Put', 'OK', 0.004);
    observe('Put', 'UNAVAILABLE', 0.2);
    observe('Watch', 'CANCELLED', 60);
    await sampler.sample(3_000, 100);
    await sampler.sample(4_000, 130);
    const [first, second] = sampler.history();
    expect(first).toMatchObject({ t: 3, appliedPerSec: null, requestsPerSec: 4.5, errorsPerSec: 0.5 });
    expect(first!.p50Ms).toBeGreaterThan(2.5);
    expect(first!.p50Ms).toBeLessThanOrEqual(5);
    expect(first!.p99Ms).toBeGreaterThan(100);
    expect(first!.p99Ms).toBeLessThanOrEqual(250);
    expect(second).toMatchObject({ t: 4, appliedPerSec: 30, requestsPerSec: 0, p50Ms: null });
  });
});
