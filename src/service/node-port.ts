/**
 * The raft node as the service layer sees it: only what gRPC handlers call. The composition root
 * (src/node/server.ts) passes its RaftNode, which satisfies these shapes structurally; service code
 * never imports src/node (the layer table in docs/ARCHITECTURE.md).
 */
import type { NodeId, Status } from '../raft/types.js';

/** The leader this node knows of; `isSelf` when it is this node. */
export interface LeaderInfo {
  readonly id: NodeId;
  readonly term: number;
  readonly isSelf: boolean;
}

/** The node statistics service handlers report (Status, Member lists, etcd's Status and Member rules). */
export interface ServiceNodeStats {
  readonly raft: Status;
  readonly appliedIndex: number;
  readonly logBytes: number;
  readonly snapshotsTaken: number;
  readonly lastSnapshotIndex: number;
  /** Milliseconds since a message last arrived from each peer (absent: never heard from). */
  readonly lastContactMs: ReadonlyMap<NodeId, number>;
}

/** Options of a configuration change; `operator` marks an operator's change (etcd's Member API). */
export interface ServiceConfChangeOptions {
  readonly signal?: AbortSignal;
  readonly operator?: boolean;
}

/** The parts of the raft node the service uses. */
export interface ServiceNode {
  readonly id: NodeId;
  /** Replicate `command` and apply it; resolves with the state machine's result. */
  apply(command: Uint8Array, opts?: { signal?: AbortSignal }): Promise<{ readonly result: unknown }>;
  /** A linearizable read fence: resolves with a read index once everything committed before the call applied here. */
  readIndex(opts?: { signal?: AbortSignal }): Promise<number>;
  leader(): LeaderInfo | null;
  isLeader(): boolean;
  /** The current raft term (cheap: every etcd response header carries it). */
  term(): number;
  /** A learner (non-voter) serves only serializable reads and Status of etcd's API, as etcd does. */
  isLearner(): boolean;
  /** Each configuration change resolves with the index of its entry. */
  addVoter(id: NodeId, raftAddr: string, opts?: ServiceConfChangeOptions): Promise<number>;
  addNonvoter(id: NodeId, raftAddr: string, opts?: ServiceConfChangeOptions): Promise<number>;
  removeServer(id: NodeId, opts?: ServiceConfChangeOptions): Promise<number>;
  /** Hand leadership to `target` (null: the most caught-up voter); resolves when it leads. */
  transferLeadership(target: NodeId | null, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Take a snapshot now; resolves with its index. */
  snapshot(opts?: { signal?: AbortSignal }): Promise<number>;
  latestSnapshot(): { readonly index: number; readonly term: number; readonly sizeBytes: number } | null;
  stats(): ServiceNodeStats;
  /** A peer's raft address as this node knows it. */
  peerAddress(id: NodeId): string | undefined;
  on(event: 'leader-change', listener: (leader: LeaderInfo | null) => void): unknown;
  off(event: 'leader-change', listener: (leader: LeaderInfo | null) => void): unknown;
}
