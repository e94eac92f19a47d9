/**
 * The leader's membership decisions, as pure functions (state in, one action out), so the rules can
 * be read and table-tested apart from timers and sockets. The driver is autopilot.ts.
 *
 * Gossip only proposes; raft's view decides. Gossip can call a member dead while raft still hears
 * from it (a partition that healed before gossip noticed, a pause shorter than gossip's memory), so a
 * member is removed as dead only when raft agrees: the leader has not heard from it for the dead grace
 * either, and this leader has been leader for at least the dead grace (its own observation, not the
 * stale contact times it kept as a follower).
 *
 * Rules, first match wins (one configuration change at a time):
 *  1. not the leader, we are leaving, or a change is in flight: nothing.
 *  2. a member that left gossip gracefully is removed.
 *  3. a member that is dead (gossip dead for deadGraceMs, raft silent for deadGraceMs, our leadership
 *     older than deadGraceMs) is removed: a non-voter always; a voter only if at least minQuorum voters
 *     (and never fewer than two) remain and a live majority of them stays.
 *  4. a dead voter that the floor keeps: a ready non-voter is promoted first (rule 3 then removes the
 *     dead voter and the count is back where it was).
 *  5. an alive gossip member with raft metadata that is not in the configuration joins as a non-voter
 *     (a member removed by mistake comes back this way).
 *  6. a non-voter that is caught up and healthy for stabilizationMs is promoted, when that moves the
 *     voters toward an odd count within votersMax (from odd: only when two are ready), or when the
 *     voters are below minQuorum.
 *  7. an even number of voters (4 or more) with nobody to promote: one healthy-looking non-leader voter is
 *     removed (this core cannot demote in place) if minQuorum allows; rule 5 brings it back as a non-voter.
 *
 * Operator hold (after Consul's: a server an operator removed stays out until it rejoins). A
 * configuration change made through etcd's Member API carries an `operator` mark; every member
 * records it as it applies the entry (in memory, for operatorHoldMs). While a hold lasts, autopilot
 * does not undo it:
 *  - a member the operator removed is not re-added by rule 5, even though it still gossips alive;
 *    the hold ends when gossip sees it die or leave (autopilot.ts), so a restarted member comes back;
 *  - a member the operator added or promoted is not promoted by rules 4 and 6 (the operator promotes
 *    learners: etcd's MemberPromote) and not stepped down by rule 7;
 *  - rule 7 does not run at all: the operator chose the voter count.
 *  - a member the operator added is not removed as dead (a new member replaying the log may miss
 *    gossip's probes for a while); rule 2 still removes it when it leaves gossip after the add (a
 *    left record gossip kept from an earlier process with that id does not count).
 * A change autopilot makes to a member
 * ends that member's hold; a member restarted forgets its holds (they are not in snapshots).
 */
import type { NodeId } from '../raft/types.js';

export type GossipState = 'alive' | 'suspect' | 'dead' | 'left';

export interface GossipPeer {
  readonly state: GossipState;
  readonly raftAddr: string;
  /** When the member entered `state` (driver clock, ms). */
  readonly sinceMs: number;
}

export interface AutopilotConfig {
  /** A non-voter must stay caught up and healthy this long before promotion. */
  readonly stabilizationMs: number;
  /** A member declared dead is removed after this long (if quorum stays safe). */
  readonly deadGraceMs: number;
  /** Never remove a voter automatically when fewer than this many voters would remain (Consul's min_quorum). */
  readonly minQuorum: number;
  readonly votersMax: number;
  /** Caught up: match index within this many entries of the leader's last index. */
  readonly catchUpLagEntries: number;
  /** How long autopilot leaves an operator's configuration change alone (see "Operator hold"). */
  readonly operatorHoldMs: number;
}

/** An operator's change to one member, as this node applied it (driver clock, ms). */
export interface OperatorHold {
  readonly kind: 'added' | 'removed';
  readonly sinceMs: number;
}

export const AUTOPILOT_DEFAULTS: AutopilotConfig = {
  stabilizationMs: 10_000,
  deadGraceMs: 10_000,
  minQuorum: 3,
  votersMax: 5,
  catchUpLagEntries: 64,
  operatorHoldMs: 10 * 60_000,
};

export interface PeerProgress {
  readonly match: number;
  /** Heard from within the driver's last-contact threshold. */
  readonly recentlyActive: boolean;
  /** Milliseconds since the leader last heard from it; null if never. */
  readonly lastContactMs: number | null;
}

export interface AutopilotState {
  readonly selfId: NodeId;
  readonly isLeader: boolean;
  readonly leaving: boolean;
  readonly changeInFlight: boolean;
  readonly nowMs: number;
  /** When this node became leader (driver clock, ms); null when it is not the leader. */
  readonly leaderSinceMs: number | null;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly lastIndex: number;
  readonly progress: ReadonlyMap<NodeId, PeerProgress>;
  /** Gossip's view, by raft node id (members whose metadata names one). */
  readonly gossip: ReadonlyMap<NodeId, GossipPeer>;
  /** Since when each non-voter has been continuously healthy (see updateHealthySince). */
  readonly healthySinceMs: ReadonlyMap<NodeId, number>;
  /** Operators' recent changes by member (absent: none). */
  readonly operatorHolds?: ReadonlyMap<NodeId, OperatorHold>;
}

export type AutopilotAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'add-nonvoter'; readonly id: NodeId; readonly raftAddr: string }
  | { readonly kind: 'promote'; readonly id: NodeId; readonly raftAddr: string }
  | { readonly kind: 'remove'; readonly id: NodeId; readonly reason: 'left' | 'dead' | 'even-voters' };

const NONE: AutopilotAction = { kind: 'none' };

export function decide(s: AutopilotState, c: AutopilotConfig): AutopilotAction {
  if (!s.isLeader || s.leaving || s.changeInFlight) return NONE;
  const members = [...s.voters, ...s.learners].filter((id) => id !== s.selfId).sort((a, b) => a - b);
  const left = members.find((id) => s.gossip.get(id)?.state === 'left' && !staleForHold(s, c, id));
  if (left !== undefined) return { kind: 'remove', id: left, reason: 'left' };
  // An operator's new member may be slow to start (it replays the log): only leaving removes it.
  const dead = members.filter((id) => isDead(s, c, id) && heldAs(s, c, id) !== 'added');
  const removable = dead.find((id) => !s.voters.includes(id) || voterRemovable(s, c, id));
  if (removable !== undefined) return { kind: 'remove', id: removable, reason: 'dead' };
  const ready = s.learners.filter((id) => isPromotable(s, c, id) && heldAs(s, c, id) !== 'added').sort((a, b) => a - b);
  if (dead.some((id) => s.voters.includes(id)) && ready.length > 0) return promote(s, ready[0]!);
  const inConf = new Set([...s.voters, ...s.learners]);
  const fresh = [...s.gossip].filter(([id, g]) => !inConf.has(id) && g.state === 'alive' && !keptOut(s, c, id)).sort(([a], [b]) => a - b)[0];
  if (fresh !== undefined) return { kind: 'add-nonvoter', id: fresh[0], raftAddr: fresh[1].raftAddr };
  const voters = s.voters.length;
  const towardOdd = voters % 2 === 0 || (ready.length >= 2 && voters + 2 <= c.votersMax);
  const promoteOk = voters + 1 <= c.votersMax && (towardOdd || voters < c.minQuorum);
  if (ready.length > 0 && promoteOk) return promote(s, ready[0]!);
  if (voters >= 4 && voters % 2 === 0 && voters - 1 >= c.minQuorum && leaderSettled(s, c) && !anyHold(s, c)) {
    const victim = demotionCandidate(s);
    if (victim !== null && quorumSafeWithout(s, victim)) return { kind: 'remove', id: victim, reason: 'even-voters' };
  }
  return NONE;
}

/** The kind of the operator's hold on `id`, if one is still in force. */
function heldAs(s: AutopilotState, c: AutopilotConfig, id: NodeId): OperatorHold['kind'] | null {
  const h = s.operatorHolds?.get(id);
  return h !== undefined && s.nowMs - h.sinceMs < c.operatorHoldMs ? h.kind : null;
}

function anyHold(s: AutopilotState, c: AutopilotConfig): boolean {
  return [...(s.operatorHolds?.keys() ?? [])].some((id) => heldAs(s, c, id) !== null);
}

/** Gossip's record of an operator-added member predates the addition (a former process with that id). */
function staleForHold(s: AutopilotState, c: AutopilotConfig, id: NodeId): boolean {
  const g = s.gossip.get(id);
  return heldAs(s, c, id) === 'added' && g !== undefined && g.sinceMs <= s.operatorHolds!.get(id)!.sinceMs;
}

/** Removed by an operator (the driver ends that hold when gossip sees the member die or leave). */
function keptOut(s: AutopilotState, c: AutopilotConfig, id: NodeId): boolean {
  return heldAs(s, c, id) === 'removed';
}

function promote(s: AutopilotState, id: NodeId): AutopilotAction {
  return { kind: 'promote', id, raftAddr: s.gossip.get(id)!.raftAddr };
}

/** The floor: at least minQuorum voters (never one) remain, and a live majority of them. */
function voterRemovable(s: AutopilotState, c: AutopilotConfig, id: NodeId): boolean {
  const remaining = s.voters.length - 1;
  return remaining >= Math.max(c.minQuorum, 2) && quorumSafeWithout(s, id);
}

/** This leader has watched its peers itself for the dead grace (contact times from before are stale). */
function leaderSettled(s: AutopilotState, c: AutopilotConfig): boolean {
  return s.leaderSinceMs !== null && s.nowMs - s.leaderSinceMs >= c.deadGraceMs;
}

/** Dead by gossip for the grace, and silent to raft for the grace, as seen by a settled leader. */
export function isDead(s: AutopilotState, c: AutopilotConfig, id: NodeId): boolean {
  const g = s.gossip.get(id);
  if (g?.state !== 'dead' || s.nowMs - g.sinceMs < c.deadGraceMs || !leaderSettled(s, c)) return false;
  const contactMs = s.progress.get(id)?.lastContactMs ?? null;
  return contactMs === null || contactMs >= c.deadGraceMs;
}

/** Caught up, alive in gossip and recently heard from: the condition promotion waits on. */
export function isHealthy(s: Pick<AutopilotState, 'lastIndex' | 'progress' | 'gossip'>, c: AutopilotConfig, id: NodeId): boolean {
  const pr = s.progress.get(id);
  const g = s.gossip.get(id);
  return pr !== undefined && g?.state === 'alive' && pr.recentlyActive && pr.match + c.catchUpLagEntries >= s.lastIndex;
}

/** Tracks since when each non-voter has been healthy without a break; others are dropped. */
export function updateHealthySince(
  s: Pick<AutopilotState, 'lastIndex' | 'progress' | 'gossip' | 'learners' | 'healthySinceMs' | 'nowMs'>,
  c: AutopilotConfig,
): Map<NodeId, number> {
  const out = new Map<NodeId, number>();
  for (const id of s.learners) {
    if (isHealthy(s, c, id)) out.set(id, s.healthySinceMs.get(id) ?? s.nowMs);
  }
  return out;
}

function isPromotable(s: AutopilotState, c: AutopilotConfig, id: NodeId): boolean {
  const since = s.healthySinceMs.get(id);
  return since !== undefined && s.nowMs - since >= c.stabilizationMs && isHealthy(s, c, id);
}

/** Live for quorum arithmetic: gossip says alive, or raft heard from it recently. */
function isLive(s: AutopilotState, id: NodeId): boolean {
  return id === s.selfId || s.gossip.get(id)?.state === 'alive' || s.progress.get(id)?.recentlyActive === true;
}

/** After removing `id`, would a majority of the remaining voters still be alive? */
export function quorumSafeWithout(s: AutopilotState, id: NodeId): boolean {
  const rest = s.voters.filter((v) => v !== id);
  if (rest.length === 0) return false;
  const live = rest.filter((v) => isLive(s, v)).length;
  return live >= Math.floor(rest.length / 2) + 1;
}

/** The voter to step down when voters are even: not us, least caught up, then highest id. */
function demotionCandidate(s: AutopilotState): NodeId | null {
  const others = s.voters.filter((id) => id !== s.selfId);
  if (others.length === 0) return null;
  const matchOf = (id: NodeId): number => s.progress.get(id)?.match ?? 0;
  return [...others].sort((a, b) => matchOf(a) - matchOf(b) || b - a)[0]!;
}
