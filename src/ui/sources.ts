/**
 * What the cluster page reads, as narrow read-only interfaces: RaftNode, GossipAgent, KvStore and
 * the metrics Registry satisfy them structurally (the composition root, src/node/server.ts, passes
 * them in), and the page never writes through them nor imports src/node.
 */
import type { MemberEvent, MemberView } from '../gossip/types.js';
import type { RangeOp, RangeResult } from '../kv/types.js';
import type { NodeId, Status } from '../raft/types.js';

/** The node statistics the page shows (RaftNode's stats() provides them): one snapshot per tick. */
export interface RaftStats {
  readonly raft: Status;
  readonly appliedIndex: number;
  readonly snapshotsTaken: number;
  readonly lastSnapshotIndex: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  /** Milliseconds since a message last arrived from each peer (absent: never heard from). */
  readonly lastContactMs: ReadonlyMap<NodeId, number>;
  readonly transport: { readonly snapshotsSent: number };
}

export interface RaftSource {
  readonly id: number;
  stats(): RaftStats;
  on(event: 'leader-change', listener: (leader: { readonly id: number; readonly term: number } | null) => void): unknown;
  off(event: 'leader-change', listener: (leader: { readonly id: number; readonly term: number } | null) => void): unknown;
}

export interface GossipSource {
  readonly address: string;
  readonly healthScore: number;
  members(): MemberView[];
  on(event: 'member', listener: (e: MemberEvent) => void): unknown;
  off(event: 'member', listener: (e: MemberEvent) => void): unknown;
}

/** The local store: reads here are stale (this node's applied state), which is what a browser needs. */
export interface KvSource {
  range(op: RangeOp): Promise<RangeResult>;
}

/** prom-client sample values of one metric (the metrics Registry's values()). */
export interface MetricsSource {
  values(name: string): Promise<ReadonlyArray<{ readonly labels: Partial<Record<string, string | number>>; readonly value: number; readonly metricName?: string }>>;
}
