/**
 * What the cluster page reads, as narrow read-only interfaces: RaftNode, GossipAgent, KvStore and
 * the metrics Registry satisfy them structurally, and the page never writes through them.
 */
import type { MemberEvent, MemberView } from '../gossip/types.js';
import type { RangeOp, RangeResult } from '../kv/types.js';
import type { NodeStats } from '../node/raft-node.js';

export interface RaftSource {
  readonly id: number;
  stats(): NodeStats;
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
