import type { MemberEvent } from '../gossip/types.js';
import type { RaftStats } from './sources.js';

/** Events kept for the page; older ones are dropped first. */
export const EVENTS_MAX = 200;

export type ClusterEventKind = 'leader' | 'join' | 'leave' | 'dead' | 'suspect' | 'alive' | 'added' | 'removed' | 'promoted' | 'snapshot';

export interface ClusterEvent {
  readonly seq: number;
  readonly atMs: number;
  readonly kind: ClusterEventKind;
  readonly text: string;
}

const GOSSIP_KINDS: Partial<Record<MemberEvent['kind'], ClusterEventKind>> = { join: 'join', left: 'leave', dead: 'dead', suspect: 'suspect', alive: 'alive' };

/**
 * Recent cluster events as this node saw them: leader changes (raft's event), gossip joins,
 * leaves, failures, and the configuration changes and snapshots found by comparing one stats()
 * snapshot with the previous one.
 */
export class EventLog {
  private readonly events: ClusterEvent[] = [];
  private seq = 0;
  private prev: { voters: Set<number>; learners: Set<number>; snapshotsTaken: number; lastSnapshotIndex: number; snapshotsSent: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  add(kind: ClusterEventKind, text: string): void {
    this.events.push({ seq: ++this.seq, atMs: this.now(), kind, text });
    if (this.events.length > EVENTS_MAX) this.events.splice(0, this.events.length - EVENTS_MAX);
  }

  leaderChanged(leader: { readonly id: number; readonly term: number } | null): void {
    this.add('leader', leader ? `node ${leader.id} is leader (term ${leader.term})` : 'no leader known');
  }

  gossip(e: MemberEvent): void {
    const kind = GOSSIP_KINDS[e.kind];
    if (!kind) return;
    const who = `node ${e.member.meta?.nodeId ?? e.member.name} (${e.member.addr})`;
    const text = { join: `${who} joined gossip`, leave: `${who} left gossip`, dead: `${who} stopped answering gossip (dead)`, suspect: `${who} is suspected of failing`, alive: `${who} is alive again` }[kind as 'join' | 'leave' | 'dead' | 'suspect' | 'alive'];
    this.add(kind, text);
  }

  /** Compares with the previous snapshot: voters/learners added, promoted, removed; snapshots. */
  observe(s: RaftStats): void {
    const cur = {
      voters: new Set(s.raft.conf.voters), learners: new Set(s.raft.conf.learners),
      snapshotsTaken: s.snapshotsTaken, lastSnapshotIndex: s.lastSnapshotIndex, snapshotsSent: s.transport.snapshotsSent,
    };
    const p = this.prev;
    this.prev = cur;
    // The first snapshot is the baseline: a page opened late does not report the existing members as added.
    if (p === null || (p.voters.size === 0 && p.learners.size === 0)) return;
    for (const id of cur.voters) {
      if (p.learners.has(id)) this.add('promoted', `node ${id} was promoted from learner to voter`);
      else if (!p.voters.has(id)) this.add('added', `node ${id} was added as a voter`);
    }
    for (const id of cur.learners) if (!p.learners.has(id) && !p.voters.has(id)) this.add('added', `node ${id} was added as a learner`);
    for (const id of [...p.voters, ...p.learners]) if (!cur.voters.has(id) && !cur.learners.has(id)) this.add('removed', `node ${id} was removed from the raft configuration`);
    if (cur.snapshotsTaken > p.snapshotsTaken) this.add('snapshot', `snapshot taken at index ${cur.lastSnapshotIndex}`);
    else if (cur.lastSnapshotIndex > p.lastSnapshotIndex) this.add('snapshot', `snapshot at index ${cur.lastSnapshotIndex} installed from the leader`);
    if (cur.snapshotsSent > p.snapshotsSent) this.add('snapshot', `sent ${cur.snapshotsSent - p.snapshotsSent} snapshot(s) to a follower`);
  }

  /** Newest first, at most `max`. */
  recent(max = 50): ClusterEvent[] {
    return this.events.slice(-max).reverse();
  }
}
