import { describe, expect, it } from 'vitest';
import { decide, quorumSafeWithout, updateHealthySince, type AutopilotConfig, type AutopilotState, type GossipState } from '../../src/node/autopilot-decide.js';

const C: AutopilotConfig = { stabilizationMs: 1000, deadGraceMs: 500, votersMax: 5, catchUpLagEntries: 10 };
const NOW = 100_000;

/** A compact scenario: `g` maps id -> gossip state (since `sinceAgoMs` ago, default long ago). */
function st(p: {
  voters: number[]; learners?: number[]; g: Record<number, GossipState>; sinceAgoMs?: Record<number, number>;
  match?: Record<number, number>; inactive?: number[]; healthyAgoMs?: Record<number, number>;
  isLeader?: boolean; leaving?: boolean; changeInFlight?: boolean; selfId?: number;
}): AutopilotState {
  const ids = [...p.voters, ...(p.learners ?? [])];
  return {
    selfId: p.selfId ?? 1,
    isLeader: p.isLeader ?? true,
    leaving: p.leaving ?? false,
    changeInFlight: p.changeInFlight ?? false,
    nowMs: NOW,
    voters: p.voters,
    learners: p.learners ?? [],
    lastIndex: 100,
    progress: new Map(ids.map((id) => [id, { match: p.match?.[id] ?? 100, recentlyActive: !(p.inactive ?? []).includes(id) }])),
    gossip: new Map(Object.entries(p.g).map(([id, state]) => [Number(id), { state, raftAddr: `127.0.0.1:${7000 + Number(id)}`, sinceMs: NOW - (p.sinceAgoMs?.[Number(id)] ?? 60_000) }])),
    healthySinceMs: new Map(Object.entries(p.healthyAgoMs ?? {}).map(([id, ago]) => [Number(id), NOW - ago])),
  };
}

describe('autopilot decide', () => {
  const rows: [string, AutopilotState, unknown][] = [
    ['follower does nothing', st({ isLeader: false, voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'none' }],
    ['leaving leader does nothing', st({ leaving: true, voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'none' }],
    ['one change at a time', st({ changeInFlight: true, voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'none' }],
    ['steady 3 voters', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' } }), { kind: 'none' }],
    ['left member removed', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'remove', id: 2, reason: 'left' }],
    ['left removed before a new member is added', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive', 3: 'left', 4: 'alive' } }), { kind: 'remove', id: 3, reason: 'left' }],
    ['left non-voter removed', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'left' } }), { kind: 'remove', id: 4, reason: 'left' }],
    ['dead within grace kept', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'dead', 3: 'alive' }, sinceAgoMs: { 2: 100 } }), { kind: 'none' }],
    ['dead after grace removed (2 of 2 remaining live)', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'dead', 3: 'alive' } }), { kind: 'remove', id: 2, reason: 'dead' }],
    ['dead not removed when the rest would lack a live majority', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'dead', 3: 'suspect' } }), { kind: 'none' }],
    ['two dead of five: removing one leaves 3 live of 4', st({ voters: [1, 2, 3, 4, 5], g: { 1: 'alive', 2: 'dead', 3: 'dead', 4: 'alive', 5: 'alive' } }), { kind: 'remove', id: 2, reason: 'dead' }],
    ['dead non-voter removed even with a shaky quorum', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'dead' } }), { kind: 'remove', id: 4, reason: 'dead' }],
    ['voter unknown to gossip is left alone', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive' } }), { kind: 'none' }],
    ['new alive member joins as non-voter', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive' } }), { kind: 'add-nonvoter', id: 4, raftAddr: '127.0.0.1:7004' }],
    ['suspect newcomer waits', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'suspect' } }), { kind: 'none' }],
    ['single learner is not promoted from 3 voters (would be even)', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive' }, healthyAgoMs: { 4: 5000 } }), { kind: 'none' }],
    ['two ready learners: promote the lower id', st({ voters: [1, 2, 3], learners: [4, 5], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' }, healthyAgoMs: { 4: 5000, 5: 5000 } }), { kind: 'promote', id: 4, raftAddr: '127.0.0.1:7004' }],
    ['from 4 voters one ready learner is promoted', st({ voters: [1, 2, 3, 4], learners: [5], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' }, healthyAgoMs: { 5: 5000 } }), { kind: 'promote', id: 5, raftAddr: '127.0.0.1:7005' }],
    ['not stable long enough', st({ voters: [1, 2], learners: [3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 3: 500 } }), { kind: 'none' }],
    ['lagging learner not promoted', st({ voters: [1, 2], learners: [3], match: { 3: 50 }, g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 3: 5000 } }), { kind: 'none' }],
    ['silent learner not promoted', st({ voters: [1, 2], learners: [3], inactive: [3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 3: 5000 } }), { kind: 'none' }],
    ['one voter and one ready learner: stays at one (odd needs two ready)', st({ voters: [1], learners: [2], g: { 1: 'alive', 2: 'alive' }, healthyAgoMs: { 2: 5000 } }), { kind: 'none' }],
    ['single voter with two ready learners promotes', st({ voters: [1], learners: [2, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 2: 5000, 3: 5000 } }), { kind: 'promote', id: 2, raftAddr: '127.0.0.1:7002' }],
    ['cap: 5 voters, ready learners stay non-voters', st({ voters: [1, 2, 3, 4, 5], learners: [6, 7], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive', 5: 'alive', 6: 'alive', 7: 'alive' }, healthyAgoMs: { 6: 5000, 7: 5000 } }), { kind: 'none' }],
    ['even voters, nobody to promote: the least caught-up other voter steps down', st({ voters: [1, 3, 4, 5], match: { 4: 90 }, g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' } }), { kind: 'remove', id: 4, reason: 'even-voters' }],
    ['even voters, tie on match: highest id steps down', st({ voters: [1, 3, 4, 5], g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' } }), { kind: 'remove', id: 5, reason: 'even-voters' }],
    ['two voters stay two', st({ voters: [1, 2], g: { 1: 'alive', 2: 'alive' } }), { kind: 'none' }],
    ['leader never removes itself', st({ voters: [1, 2, 3], g: { 1: 'left', 2: 'alive', 3: 'alive' } }), { kind: 'none' }],
    ['dead leader-elect scenario: dead voter of 3 with learner', st({ voters: [1, 3, 4], learners: [5], selfId: 3, g: { 1: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, healthyAgoMs: { 5: 5000 } }), { kind: 'remove', id: 1, reason: 'dead' }],
    ['after that removal the learner is promoted to make 3', st({ voters: [3, 4], learners: [5], selfId: 3, g: { 1: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, healthyAgoMs: { 5: 5000 } }), { kind: 'promote', id: 5, raftAddr: '127.0.0.1:7005' }],
  ];
  for (const [name, state, want] of rows) {
    it(name, () => expect(decide(state, C)).toEqual(want));
  }
});

describe('quorumSafeWithout', () => {
  it.each([
    [[1, 2, 3], { 1: 'alive', 2: 'dead', 3: 'alive' }, 2, true],
    [[1, 2, 3], { 1: 'alive', 2: 'dead', 3: 'dead' }, 2, false],
    [[1, 2, 3, 4, 5], { 1: 'alive', 2: 'dead', 3: 'dead', 4: 'dead', 5: 'alive' }, 2, false],
    [[1, 2], { 1: 'alive', 2: 'dead' }, 2, true],
    [[1], { 1: 'alive' }, 1, false],
  ] as [number[], Record<number, GossipState>, number, boolean][])('voters %j gossip %j without %i -> %s', (voters, g, id, want) => {
    expect(quorumSafeWithout(st({ voters, g }), id)).toBe(want);
  });
});

describe('updateHealthySince', () => {
  it('keeps the first healthy time, starts new ones now, drops unhealthy ones', () => {
    const s = st({ voters: [1], learners: [2, 3, 4], match: { 4: 10 }, g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive' }, healthyAgoMs: { 2: 700, 4: 700 } });
    const out = updateHealthySince(s, C);
    expect([...out]).toEqual([[2, NOW - 700], [3, NOW]]);
  });
  it('a suspect member loses its streak', () => {
    const s = st({ voters: [1], learners: [2], g: { 1: 'alive', 2: 'suspect' }, healthyAgoMs: { 2: 700 } });
    expect(updateHealthySince(s, C).size).toBe(0);
  });
});
