import type { Logger } from 'pino';
import type { NodeId } from '../raft/types.js';
import type { RaftTls } from '../transport/raft/secure.js';
import type { StateMachine } from './state-machine.js';

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** host:port to listen on for raft traffic; port 0 picks a free one (see raftAddress()). */
  readonly raftAddr: string;
  /** The address other nodes should dial, when it differs from the listen address. */
  readonly advertiseRaftAddr?: string;
  /** `<raft_data_dir>`; this node's files live in `<dataDir>/<id>/`. */
  readonly dataDir: string;
  readonly stateMachine: StateMachine;
  /**
   * Bootstrap a new cluster when the data directory is empty: the initial voters and their raft
   * addresses (just this node for a cluster that others join later). Ignored on restart.
   */
  readonly bootstrap?: ReadonlyMap<NodeId, string>;
  readonly clusterId?: string;
  /** Raft address of a peer the log has not told us about yet (for example from gossip). */
  readonly resolveRaftAddress?: (id: NodeId) => string | undefined;
  readonly logger?: Logger;
  /** Peer TLS for the raft port and dials (--peer_cert_file ...); absent: plaintext. */
  readonly peerTls?: RaftTls;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly snapshotEntries?: number;
  /** Also snapshot on this interval when anything was applied since the last one. */
  readonly snapshotIntervalMs?: number;
  /** Entries kept in the log after a snapshot so slow followers catch up without one. */
  readonly trailingLogs?: number;
  /** Proposals waiting for their entry to apply; beyond this, apply() is refused (Overloaded). */
  readonly pendingProposalsMax?: number;
  /** Linearizable reads waiting for their read index. */
  readonly pendingReadsMax?: number;
}

export const NODE_DEFAULTS = {
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotEntries: 8192,
  snapshotIntervalMs: 120_000,
  trailingLogs: 10_240,
  pendingProposalsMax: 10_000,
  pendingReadsMax: 10_000,
  clusterId: 'raftkv',
} as const;

export type ResolvedNodeOptions = RaftNodeOptions & { -readonly [K in keyof typeof NODE_DEFAULTS]: (typeof NODE_DEFAULTS)[K] extends string ? string : number };

export function resolveNodeOptions(o: RaftNodeOptions): ResolvedNodeOptions {
  return { ...NODE_DEFAULTS, ...o };
}
