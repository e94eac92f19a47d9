import { InvalidArgumentError } from '../common/errors.js';
import type { MemberEvent, MemberView } from '../gossip/types.js';
import type { AddressResolver } from './types.js';

/** Listeners per resolver; a leak (subscribe without unsubscribe) fails loudly instead of growing. */
const LISTENERS_MAX = 64;

/** What the resolver needs of a gossip agent (structural, so resolver stays below transport). */
export interface GossipMemberSource {
  members(): MemberView[];
  on(event: 'member', listener: (e: MemberEvent) => void): unknown;
  off(event: 'member', listener: (e: MemberEvent) => void): unknown;
}

interface Entry {
  readonly grpcAddr: string;
  readonly raftAddr: string;
}

/**
 * Node id -> gRPC (and raft) address, following gossip metadata. A member that left gracefully is
 * forgotten; a member declared dead keeps its last address (it may be a false positive, and a stale
 * address only costs a failed dial). `fallback` (e.g. `--peers`) answers for ids gossip never named.
 */
export class GossipResolver implements AddressResolver {
  private readonly addrs = new Map<number, Entry>();
  private readonly listeners = new Set<(nodeId: number, grpcAddr: string | undefined) => void>();
  private readonly onMember = (e: MemberEvent): void => this.apply(e.member);
  private closed = false;

  constructor(private readonly source: GossipMemberSource, private readonly fallback?: AddressResolver) {
    for (const m of source.members()) this.apply(m);
    source.on('member', this.onMember);
  }

  grpcAddress(nodeId: number): string | undefined {
    return this.addrs.get(nodeId)?.grpcAddr ?? this.fallback?.grpcAddress(nodeId);
  }

  /** The raft address a member publishes; the raft transport asks when its log has not said. */
  raftAddress(nodeId: number): string | undefined {
    return this.addrs.get(nodeId)?.raftAddr;
  }

  entries(): ReadonlyMap<number, string> {
    const out = new Map(this.fallback?.entries() ?? []);
    for (const [id, e] of this.addrs) out.set(id, e.grpcAddr);
    return out;
  }

  onChange(listener: (nodeId: number, grpcAddr: string | undefined) => void): () => void {
    if (this.listeners.size >= LISTENERS_MAX) throw new InvalidArgumentError(`resolver listeners exceed ${LISTENERS_MAX}`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.off('member', this.onMember);
    this.listeners.clear();
  }

  private apply(m: MemberView): void {
    if (this.closed) return;
    const id = memberNodeId(m);
    if (id === null) return;
    const before = this.addrs.get(id);
    if (m.state === 3 /* MemberState.Left */) {
      if (before === undefined) return;
      this.addrs.delete(id);
      this.emit(id, this.fallback?.grpcAddress(id));
      return;
    }
    const meta = m.meta!;
    if (before?.grpcAddr === meta.grpcAddr && before.raftAddr === meta.raftAddr) return;
    this.addrs.set(id, { grpcAddr: meta.grpcAddr, raftAddr: meta.raftAddr });
    if (before?.grpcAddr !== meta.grpcAddr) this.emit(id, meta.grpcAddr);
  }

  private emit(id: number, grpcAddr: string | undefined): void {
    for (const l of this.listeners) l(id, grpcAddr);
  }
}

/** The raft node id a gossip member publishes, or null when its metadata is missing or unusable. */
export function memberNodeId(m: MemberView): number | null {
  if (m.meta === null) return null;
  const id = Number(m.meta.nodeId);
  return Number.isSafeInteger(id) && id > 0 && m.meta.raftAddr !== '' ? id : null;
}
