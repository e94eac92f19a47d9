import { describe, expect, it } from 'vitest';
import { decide, quorumSafeWithout, updateHealthySince, type AutopilotConfig, type AutopilotState, type GossipState } from '../../src/node/autopilot-decide.js';

const C: AutopilotConfig = { stabilizationMs: 1000, deadGraceMs: 500, minQuorum: 3, votersMax: 5, catchUpLagEntries: 10, operatorHoldMs: 30_000 };
const NOW = 100_000;

/**
 * A compact scenario: `g` maps id -> gossip state (since `sinceAgoMs` ago, default long ago). Raft's
 * last contact defaults to long ago for members gossip calls dead or that are `inactive`, else 5 ms;
 * `contactAgoMs` overrides it. The leader has led for `leaderAgoMs` (default long).
 */
function st(p: {
  voters: number[]; learners?: number[]; g: Record<number, GossipState>; sinceAgoMs?: Record<number, number>;
  match?: Record<number, number>; inactive?: number[]; healthyAgoMs?: Record<number, number>;
  contactAgoMs?: Record<number, number | null>; leaderAgoMs?: number;
  isLeader?: boolean; leaving?: boolean; changeInFlight?: boolean; selfId?: number;
  /** Operator holds: id -> [kind, how long ago]. */
  holds?: Record<number, ['added' | 'removed', number]>;
}): AutopilotState {
  const silent = (id: number): boolean => p.g[id] === 'dead' || (p.inactive ?? []).includes(id);
  const contact = (id: number): number | null => (p.contactAgoMs && id in p.contactAgoMs ? p.contactAgoMs[id]! : silent(id) ? 60_000 : 5);
  const ids = [...p.voters, ...(p.learners ?? [])];
  return {
    selfId: p.selfId ?? 1,
    isLeader: p.isLeader ?? true,
    leaving: p.leaving ?? false,
    changeInFlight: p.changeInFlight ?? false,
    nowMs: NOW,
    leaderSinceMs: (p.isLeader ?? true) ? NOW - (p.leaderAgoMs ?? 60_000) : null,
    voters: p.voters,
    learners: p.learners ?? [],
    lastIndex: 100,
    progress: new Map(ids.map((id) => [id, { match: p.match?.[id] ?? 100, recentlyActive: (contact(id) ?? Infinity) <= 200, lastContactMs: contact(id) }])),
    gossip: new Map(Object.entries(p.g).map(([id, state]) => [Number(id), { state, raftAddr: `127.0.0.1:${7000 + Number(id)}`, sinceMs: NOW - (p.sinceAgoMs?.[Number(id)] ?? 60_000) }])),
    healthySinceMs: new Map(Object.entries(p.healthyAgoMs ?? {}).map(([id, ago]) => [Number(id), NOW - ago])),
    operatorHolds: new Map(Object.entries(p.holds ?? {}).map(([id, [kind, ago]]) => [Number(id), { kind, sinceMs: NOW - ago }])),
  };
}

describe('autopilot decide', () => {
  const rows: [string, AutopilotState, unknown, Partial<AutopilotConfig>?][] = [
    ['follower does nothing', st({ isLeader: false, voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'none' }],
    ['leaving leader does nothing', st({ leaving: true, voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'none' }],
    ['one change at a time', st({ changeInFlight: true, voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'none' }],
    ['steady 3 voters', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' } }), { kind: 'none' }],
    ['left member removed', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'left', 3: 'alive' } }), { kind: 'remove', id: 2, reason: 'left' }],
    ['left removed before a new member is added', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'alive', 3: 'left', 4: 'alive' } }), { kind: 'remove', id: 3, reason: 'left' }],
    ['left non-voter removed', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'left' } }), { kind: 'remove', id: 4, reason: 'left' }],
    ['dead within grace kept', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'dead', 3: 'alive' }, sinceAgoMs: { 2: 100 } }), { kind: 'none' }],
    ['dead voter of 3 kept: the floor is 3 voters', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'dead', 3: 'alive' } }), { kind: 'none' }],
    ['dead voter of 4 removed (3 remain, all live)', st({ voters: [1, 2, 3, 4], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive' } }), { kind: 'remove', id: 2, reason: 'dead' }],
    ['floor 2: dead voter of 3 removed', st({ voters: [1, 2, 3], g: { 1: 'alive', 2: 'dead', 3: 'alive' } }), { kind: 'remove', id: 2, reason: 'dead' }, { minQuorum: 2 }],
    ['floor 1 still never shrinks to a single voter', st({ voters: [1, 2], g: { 1: 'alive', 2: 'dead' } }), { kind: 'none' }, { minQuorum: 1 }],
    // The scenarios: gossip says dead, raft disagrees.
    ['partition healed: gossip still dead, raft hears it again -> kept', st({ voters: [1, 2, 3, 4, 5], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, contactAgoMs: { 2: 30 } }), { kind: 'none' }],
    ['pause ended: gossip dead for long, raft contact 100 ms ago -> kept', st({ voters: [1, 2, 3, 4, 5], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, sinceAgoMs: { 2: 12_000 }, contactAgoMs: { 2: 100 } }), { kind: 'none' }],
    ['raft silent for less than the grace -> kept', st({ voters: [1, 2, 3, 4, 5], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, contactAgoMs: { 2: 499 } }), { kind: 'none' }],
    ['new leader waits the grace before removing anyone', st({ voters: [1, 2, 3, 4, 5], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, leaderAgoMs: 1 }), { kind: 'none' }],
    ['new leader: a dead non-voter waits too', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'dead' }, leaderAgoMs: 499 }), { kind: 'none' }],
    ['settled leader removes a voter raft never heard from', st({ voters: [1, 2, 3, 4, 5], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, contactAgoMs: { 2: null }, leaderAgoMs: 500 }), { kind: 'remove', id: 2, reason: 'dead' }],
    ['floor keeps a dead voter, a ready non-voter is promoted first', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive' }, healthyAgoMs: { 4: 5000 } }), { kind: 'promote', id: 4, raftAddr: '127.0.0.1:7004' }],
    ['then the dead voter goes (3 remain)', st({ voters: [1, 2, 3, 4], g: { 1: 'alive', 2: 'dead', 3: 'alive', 4: 'alive' } }), { kind: 'remove', id: 2, reason: 'dead' }],
    ['a member removed by mistake comes back as a non-voter', st({ voters: [1, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' } }), { kind: 'add-nonvoter', id: 2, raftAddr: '127.0.0.1:7002' }],
    ['below the floor, one ready non-voter is promoted', st({ voters: [1, 3], learners: [2], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 2: 5000 } }), { kind: 'promote', id: 2, raftAddr: '127.0.0.1:7002' }],
    ['even voters at the floor: nobody steps down', st({ voters: [1, 3, 4, 5], g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' } }), { kind: 'none' }, { minQuorum: 4 }],
    ['even voters: a new leader waits before stepping one down', st({ voters: [1, 3, 4, 5], g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' }, leaderAgoMs: 10 }), { kind: 'none' }],
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
    ['one voter and one ready learner: promoted (below the floor of 3)', st({ voters: [1], learners: [2], g: { 1: 'alive', 2: 'alive' }, healthyAgoMs: { 2: 5000 } }), { kind: 'promote', id: 2, raftAddr: '127.0.0.1:7002' }],
    ['floor 1: one voter and one ready learner stays at one (odd needs two ready)', st({ voters: [1], learners: [2], g: { 1: 'alive', 2: 'alive' }, healthyAgoMs: { 2: 5000 } }), { kind: 'none' }, { minQuorum: 1 }],
    ['single voter with two ready learners promotes', st({ voters: [1], learners: [2, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 2: 5000, 3: 5000 } }), { kind: 'promote', id: 2, raftAddr: '127.0.0.1:7002' }],
    ['cap: 5 voters, ready learners stay non-voters', st({ voters: [1, 2, 3, 4, 5], learners: [6, 7], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'alive', 5: 'alive', 6: 'alive', 7: 'alive' }, healthyAgoMs: { 6: 5000, 7: 5000 } }), { kind: 'none' }],
    ['even voters, nobody to promote: the least caught-up other voter steps down', st({ voters: [1, 3, 4, 5], match: { 4: 90 }, g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' } }), { kind: 'remove', id: 4, reason: 'even-voters' }],
    ['even voters, tie on match: highest id steps down', st({ voters: [1, 3, 4, 5], g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' } }), { kind: 'remove', id: 5, reason: 'even-voters' }],
    ['two voters stay two', st({ voters: [1, 2], g: { 1: 'alive', 2: 'alive' } }), { kind: 'none' }],
    ['leader never removes itself', st({ voters: [1, 2, 3], g: { 1: 'left', 2: 'alive', 3: 'alive' } }), { kind: 'none' }],
    ['floor 2: dead voter of 3 with learner: removed first', st({ voters: [1, 3, 4], learners: [5], selfId: 3, g: { 1: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, healthyAgoMs: { 5: 5000 } }), { kind: 'remove', id: 1, reason: 'dead' }, { minQuorum: 2 }],
    ['after that removal the learner is promoted to make 3', st({ voters: [3, 4], learners: [5], selfId: 3, g: { 1: 'dead', 3: 'alive', 4: 'alive', 5: 'alive' }, healthyAgoMs: { 5: 5000 } }), { kind: 'promote', id: 5, raftAddr: '127.0.0.1:7005' }],
    // Operator hold: etcd's Member API changes are not undone while the hold lasts.
    ['operator-removed member still gossiping is not re-added', st({ voters: [1, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, holds: { 2: ['removed', 1000] } }), { kind: 'none' }],
    ['operator-removed member is re-added once the hold expires', st({ voters: [1, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, holds: { 2: ['removed', 30_000] } }), { kind: 'add-nonvoter', id: 2, raftAddr: '127.0.0.1:7002' }],
    ['operator-removed member alive again after a suspicion is still kept out', st({ voters: [1, 3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, sinceAgoMs: { 2: 500 }, holds: { 2: ['removed', 1000] } }), { kind: 'none' }],
    ['operator-added learner is not promoted by autopilot', st({ voters: [1, 2], learners: [3], g: { 1: 'alive', 2: 'alive', 3: 'alive' }, healthyAgoMs: { 3: 5000 }, holds: { 3: ['added', 1000] } }), { kind: 'none' }],
    ['operator-added voter making 4: nobody steps down', st({ voters: [1, 3, 4, 5], g: { 1: 'alive', 3: 'alive', 4: 'alive', 5: 'alive' }, holds: { 5: ['added', 1000] } }), { kind: 'none' }],
    ['operator-added member that left is still removed', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'left' }, sinceAgoMs: { 4: 500 }, holds: { 4: ['added', 1000] } }), { kind: 'remove', id: 4, reason: 'left' }],
    ['operator-added member with a left record from before the add is kept', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'left' }, sinceAgoMs: { 4: 5000 }, holds: { 4: ['added', 1000] } }), { kind: 'none' }],
    ['operator-added member dead since before the add is kept', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'dead' }, sinceAgoMs: { 4: 5000 }, holds: { 4: ['added', 1000] } }), { kind: 'none' }],
    ['operator-added member that went dead after the add is kept during the hold', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'dead' }, sinceAgoMs: { 4: 600 }, holds: { 4: ['added', 1000] } }), { kind: 'none' }],
    ['operator-added dead member is removed once the hold ends', st({ voters: [1, 2, 3], learners: [4], g: { 1: 'alive', 2: 'alive', 3: 'alive', 4: 'dead' }, sinceAgoMs: { 4: 600 }, holds: { 4: ['added', 40_000] } }), { kind: 'remove', id: 4, reason: 'dead' }],
  ];
  for (const [name, state, want, config] of rows) {
    it(name, () => expect(decide(state, { ...C, ...config })).toEqual(want));
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
