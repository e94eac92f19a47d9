import { memberStateName, type MemberView } from '../gossip/types.js';
import { Role, roleName, type ProgressStatus } from '../raft/types.js';
import type { RaftStats } from './sources.js';

/** The gossip metadata tag that carries a member's cluster-page address (host:port). */
export const HTTP_ADDR_TAG = 'http';
/** A member this many entries behind the leader's log is shown as lagging. */
export const LAG_WARN_ENTRIES = 100;

export type Health = 'healthy' | 'lagging' | 'unreachable' | 'suspect' | 'down' | 'left' | 'joining' | 'unknown';

/** One row of the members table: what gossip and raft each say about one member. */
export interface MemberRow {
  readonly id: number | null;
  readonly self: boolean;
  readonly raftAddr: string | null;
  readonly grpcAddr: string | null;
  readonly gossipAddr: string | null;
  readonly httpAddr: string | null;
  readonly gossipState: 'alive' | 'suspect' | 'dead' | 'left' | null;
  /** Known for this node and the leader; other voters are shown as followers. */
  readonly raftRole: string | null;
  readonly suffrage: 'voter' | 'learner' | null;
  readonly match: number | null;
  readonly lag: number | null;
  readonly progressState: 'probe' | 'replicate' | 'snapshot' | null;
  readonly lastContactMs: number | null;
  readonly health: Health;
}

/** Replication progress, which only the leader tracks. */
export interface ProgressRow {
  readonly id: number;
  readonly match: number;
  readonly lag: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly lastContactMs: number | null;
}

export interface NodeView {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastLogIndex: number;
  readonly firstLogIndex: number;
  readonly lastSnapshotIndex: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly gossipHealthScore: number | null;
}

export interface ClusterView {
  readonly node: NodeView;
  readonly members: readonly MemberRow[];
  /** Whose replication progress the match/lag columns show: this node (the leader), the leader asked over HTTP, or nobody. */
  readonly progressSource: { readonly kind: 'self' | 'leader' | 'none'; readonly leaderId: number; readonly note: string };
  readonly gossipEnabled: boolean;
}

const PROGRESS_STATES = ['probe', 'replicate', 'snapshot'] as const;

/** This node's progress table (empty unless it leads). */
export function progressRows(stats: RaftStats): ProgressRow[] {
  const rows: ProgressRow[] = [];
  for (const [id, p] of stats.raft.progress) rows.push(progressRow(id, p, stats));
  return rows.sort((a, b) => a.id - b.id);
}

function progressRow(id: number, p: ProgressStatus, stats: RaftStats): ProgressRow {
  const contact = id === stats.raft.id ? 0 : stats.lastContactMs.get(id);
  return { id, match: p.match, lag: Math.max(0, stats.raft.lastIndex - p.match), state: PROGRESS_STATES[p.state] ?? 'probe', lastContactMs: contact ?? null };
}

export interface ViewInputs {
  readonly stats: RaftStats;
  readonly gossipMembers: readonly MemberView[] | null;
  readonly gossipHealthScore: number | null;
  readonly selfHttpAddr: string;
  /** Progress from the leader's own page, when this node is a follower that could ask it. */
  readonly leaderProgress: { readonly leaderId: number; readonly rows: readonly ProgressRow[] } | null;
  /** Last contact beyond this (the election timeout) marks a member unreachable. */
  readonly contactWarnMs: number;
}

function gossipId(m: MemberView): number | null {
  const n = Number(m.meta?.nodeId ?? m.name);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** Members from gossip and raft side by side, joined on the raft id. */
export function buildView(i: ViewInputs): ClusterView {
  const { stats } = i;
  const r = stats.raft;
  const selfId = r.id;
  const voters = new Set(r.conf.voters);
  const learners = new Set(r.conf.learners);
  const isLeader = r.role === Role.Leader;
  const progress = new Map<number, ProgressRow>();
  let progressSource: ClusterView['progressSource'];
  if (isLeader) {
    for (const p of progressRows(stats)) progress.set(p.id, p);
    progressSource = { kind: 'self', leaderId: selfId, note: 'this node leads: replication progress is its own' };
  } else if (i.leaderProgress && i.leaderProgress.leaderId === r.lead) {
    for (const p of i.leaderProgress.rows) progress.set(p.id, p);
    progressSource = { kind: 'leader', leaderId: r.lead, note: `replication progress as reported by the leader, node ${r.lead}` };
  } else {
    progressSource = { kind: 'none', leaderId: r.lead, note: r.lead === 0 ? 'no leader known: replication progress is unknown' : `only the leader (node ${r.lead}) tracks replication progress, and its page could not be reached; last contact is this node's own view` };
  }
  const byId = new Map<number, MemberView>();
  const gossipOnly: MemberView[] = [];
  for (const m of i.gossipMembers ?? []) {
    const id = gossipId(m);
    if (id === null) gossipOnly.push(m);
    else byId.set(id, m);
  }
  const ids = new Set<number>([...voters, ...learners, ...byId.keys(), selfId]);
  const rows: MemberRow[] = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    const g = byId.get(id) ?? null;
    const p = progress.get(id) ?? null;
    const suffrage = voters.has(id) ? 'voter' : learners.has(id) ? 'learner' : null;
    const role = id === selfId ? roleName(r.role) : id === r.lead ? 'leader' : suffrage === 'voter' ? 'follower' : suffrage === 'learner' ? 'learner' : null;
    // A follower hears from the leader itself; about the other members, the leader's view (if fetched) knows more.
    const own = stats.lastContactMs.get(id);
    const contact = id === selfId ? 0 : id === r.lead ? (own ?? null) : progressSource.kind === 'leader' ? (p?.lastContactMs ?? null) : (own ?? p?.lastContactMs ?? null);
    const gossipState = g ? memberStateName(g.state) : null;
    rows.push({
      id, self: id === selfId,
      raftAddr: g?.meta?.raftAddr ?? null,
      grpcAddr: g?.meta?.grpcAddr ?? null,
      gossipAddr: g?.addr ?? null,
      httpAddr: id === selfId ? i.selfHttpAddr : (g?.meta?.tags[HTTP_ADDR_TAG] ?? null),
      gossipState, raftRole: role, suffrage,
      match: p?.match ?? null, lag: p?.lag ?? null, progressState: p?.state ?? null,
      lastContactMs: contact,
      health: health({ self: id === selfId, gossipState, gossipEnabled: i.gossipMembers !== null, suffrage, lag: p?.lag ?? null, contact, contactWarnMs: i.contactWarnMs, progressKnown: p !== null }),
    });
  }
  for (const g of gossipOnly) {
    rows.push({ id: null, self: false, raftAddr: g.meta?.raftAddr ?? null, grpcAddr: g.meta?.grpcAddr ?? null, gossipAddr: g.addr, httpAddr: null, gossipState: memberStateName(g.state), raftRole: null, suffrage: null, match: null, lag: null, progressState: null, lastContactMs: null, health: 'unknown' });
  }
  return {
    node: {
      id: selfId, role: roleName(r.role), term: r.term, leaderId: r.lead, commitIndex: r.commit, appliedIndex: stats.appliedIndex,
      lastLogIndex: r.lastIndex, firstLogIndex: r.firstIndex, lastSnapshotIndex: stats.lastSnapshotIndex,
      pendingProposals: stats.pendingProposals, pendingReads: stats.pendingReads, gossipHealthScore: i.gossipHealthScore,
    },
    members: rows, progressSource, gossipEnabled: i.gossipMembers !== null,
  };
}

function health(h: { self: boolean; gossipState: MemberRow['gossipState']; gossipEnabled: boolean; suffrage: MemberRow['suffrage']; lag: number | null; contact: number | null; contactWarnMs: number; progressKnown: boolean }): Health {
  if (h.gossipState === 'dead') return 'down';
  if (h.gossipState === 'left') return 'left';
  if (h.gossipState === 'suspect') return 'suspect';
  if (h.suffrage === null) return h.gossipState === 'alive' ? 'joining' : 'unknown';
  if (h.self) return 'healthy';
  if (h.contact !== null && h.contact > h.contactWarnMs) return 'unreachable';
  if (h.lag !== null && h.lag > LAG_WARN_ENTRIES) return 'lagging';
  if (h.gossipEnabled && h.gossipState === null) return 'unknown';
  if (!h.gossipEnabled && h.contact === null && !h.progressKnown) return 'unknown';
  return 'healthy';
}
