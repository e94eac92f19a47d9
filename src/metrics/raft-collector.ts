import { Role, roleName, type NodeId, type Status } from '../raft/types.js';
import type { TransportStats } from '../transport/raft/stats.js';
import type { Registry } from './registry.js';

/** The node statistics the raft and transport collectors read (RaftNode's stats() provides them). */
export interface RaftNodeStats {
  readonly raft: Status;
  readonly appliedIndex: number;
  readonly logBytes: number;
  readonly snapshotsTaken: number;
  readonly lastSnapshotIndex: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly lastContactMs: ReadonlyMap<NodeId, number>;
  readonly transport: TransportStats;
}

/** What the raft collector reads: RaftNode, or anything with the same stats(). */
export interface RaftStatsSource {
  stats(): RaftNodeStats;
}

const ROLES: readonly Role[] = Object.values(Role);

/**
 * Raft gauges and counters, all read from one `stats()` snapshot per scrape: nothing on the write
 * path changes. Per-peer series are labelled with the peer's raft id.
 */
export function registerRaftMetrics(r: Registry, node: RaftStatsSource): void {
  const s = r.perScrape(() => node.stats());
  const gauge = (name: string, help: string, read: (st: RaftNodeStats) => number): void => r.callbackGauge({ name, help, collect: (e) => e(read(s())) });
  gauge('raftkv_raft_term', 'Current raft term.', (st) => st.raft.term);
  gauge('raftkv_raft_commit_index', 'Highest log index known to be committed.', (st) => st.raft.commit);
  gauge('raftkv_raft_applied_index', 'Highest log index applied to the state machine.', (st) => st.appliedIndex);
  gauge('raftkv_raft_last_log_index', 'Index of the last entry in the log (persisted or not).', (st) => st.raft.lastIndex);
  gauge('raftkv_raft_first_log_index', 'Index of the first entry still in the log (older ones are in the snapshot).', (st) => st.raft.firstIndex);
  gauge('raftkv_raft_leader_id', 'Raft id of the leader this node knows of; 0 when none.', (st) => st.raft.lead);
  gauge('raftkv_raft_is_leader', '1 when this node is the leader, else 0.', (st) => (st.raft.role === Role.Leader ? 1 : 0));
  r.callbackGauge({
    name: 'raftkv_raft_role', help: 'This node\'s raft role: 1 for the current one, 0 for the others.', labelNames: ['role'],
    collect: (e) => {
      const role = s().raft.role;
      for (const x of ROLES) e(x === role ? 1 : 0, { role: roleName(x) });
    },
  });
  gauge('raftkv_raft_voters', 'Voters in the configuration this node has applied.', (st) => st.raft.conf.voters.length);
  gauge('raftkv_raft_learners', 'Non-voters (learners) in the configuration this node has applied.', (st) => st.raft.conf.learners.length);
  gauge('raftkv_raft_pending_proposals', 'Proposals waiting for their entry to apply.', (st) => st.pendingProposals);
  gauge('raftkv_raft_pending_reads', 'Linearizable reads waiting for their read index.', (st) => st.pendingReads);
  gauge('raftkv_raft_log_bytes', 'Bytes of log entries stored after the last snapshot.', (st) => st.logBytes);
  gauge('raftkv_raft_last_snapshot_index', 'Log index covered by the newest snapshot; 0 before the first.', (st) => st.lastSnapshotIndex);
  r.callbackCounter({ name: 'raftkv_raft_snapshots_taken_total', help: 'Snapshots this process has taken.', collect: (e) => e(s().snapshotsTaken) });
  r.callbackGauge({
    name: 'raftkv_raft_peer_last_contact_seconds', help: 'Seconds since a message last arrived from each peer (peers never heard from are absent).', labelNames: ['peer'],
    collect: (e) => {
      for (const [peer, ms] of s().lastContactMs) e(ms / 1000, { peer });
    },
  });
  r.callbackGauge({
    name: 'raftkv_raft_peer_match_index', help: 'Leader only: highest log index known to be replicated on each member.', labelNames: ['peer'],
    collect: (e) => {
      for (const [peer, p] of s().raft.progress) e(p.match, { peer });
    },
  });
  r.callbackGauge({
    name: 'raftkv_raft_peer_inflight_messages', help: 'Leader only: append messages sent to each member and not yet acknowledged.', labelNames: ['peer'],
    collect: (e) => {
      for (const [peer, p] of s().raft.progress) e(p.inflight, { peer });
    },
  });
}
