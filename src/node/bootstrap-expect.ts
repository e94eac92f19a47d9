/**
 * `--bootstrap_expect N`: a fresh node waits until gossip shows N fresh members, then the lowest id
 * among the N lowest-id fresh members bootstraps a cluster with those N as voters; the others start
 * empty and wait for its leader to contact them. If any member already belongs to a cluster, nobody
 * bootstraps: the newcomer starts empty and the leader's autopilot adds it. Pure: the waiting and
 * gossip plumbing live in gossip-setup.ts.
 */
import type { NodeId } from '../raft/types.js';

/** Gossip metadata tag a node sets once its raft log is non-empty (it belongs to a cluster). */
export const IN_CLUSTER_TAG = 'raft';
export const IN_CLUSTER_VALUE = 'member';

export interface BootstrapCandidate {
  readonly id: NodeId;
  readonly raftAddr: string;
  readonly alive: boolean;
  readonly inCluster: boolean;
}

export type BootstrapChoice =
  | { readonly kind: 'wait' }
  /** Start without bootstrapping (someone else bootstraps, or a cluster exists). */
  | { readonly kind: 'join' }
  | { readonly kind: 'bootstrap'; readonly voters: ReadonlyMap<NodeId, string> };

export function chooseBootstrap(selfId: NodeId, expect: number, members: readonly BootstrapCandidate[]): BootstrapChoice {
  const alive = members.filter((m) => m.alive);
  if (alive.some((m) => m.inCluster && m.id !== selfId)) return { kind: 'join' };
  const fresh = alive.filter((m) => !m.inCluster).sort((a, b) => a.id - b.id);
  if (fresh.length < expect) return { kind: 'wait' };
  const chosen = fresh.slice(0, expect);
  if (chosen[0]!.id !== selfId) return { kind: 'join' };
  return { kind: 'bootstrap', voters: new Map(chosen.map((m) => [m.id, m.raftAddr])) };
}
