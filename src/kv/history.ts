import type { WatchEvent } from './types.js';

/** Approximate memory of one event, for the history's byte limit. */
export function eventBytes(e: WatchEvent): number {
  const prev = e.prevKv === null ? 0 : e.prevKv.key.length + e.prevKv.value.length + 48;
  return e.kv.key.length + e.kv.value.length + prev + 96;
}

/**
 * Recent events in revision order, bounded by count and bytes: a cache in front of the persisted
 * history (src/kv/history-read.ts) for watchers that start a little in the past or fell a little
 * behind. `floor` is the smallest start revision served from memory without gaps: every event with a
 * revision >= floor is here. It starts at revision + 1 (after an open or a restore older revisions
 * come from the db) and rises as old events are evicted.
 */
export class EventHistory {
  private events: WatchEvent[] = [];
  private head = 0;
  private bytes = 0;
  private floorRevision: number;

  constructor(
    private readonly eventsMax: number,
    private readonly bytesMax: number,
    revision: number,
  ) {
    this.floorRevision = revision + 1;
  }

  get floor(): number {
    return this.floorRevision;
  }

  get size(): number {
    return this.events.length - this.head;
  }

  reset(revision: number): void {
    this.events = [];
    this.head = 0;
    this.bytes = 0;
    this.floorRevision = revision + 1;
  }

  append(events: readonly WatchEvent[]): void {
    for (const e of events) {
      this.events.push(e);
      this.bytes += eventBytes(e);
    }
    while (this.size > this.eventsMax || (this.bytes > this.bytesMax && this.size > 0)) this.evictOldest();
  }

  private evictOldest(): void {
    const e = this.events[this.head];
    if (e === undefined) return;
    this.head++;
    this.bytes -= eventBytes(e);
    this.floorRevision = Math.max(this.floorRevision, e.kv.modRevision + 1);
    // Compact the backing array once the dead prefix dominates, keeping eviction amortized O(1).
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Matching events from revision `start` on: at most `eventsMax`, but always whole revisions.
   * `next` is the revision to continue from (unchanged when the history has nothing at or after start).
   */
  from(start: number, match: (e: WatchEvent) => boolean, eventsMax: number): { events: WatchEvent[]; next: number } {
    const out: WatchEvent[] = [];
    let next = start;
    for (let i = this.lowerBound(start); i < this.events.length; i++) {
      const e = this.events[i];
      if (e === undefined) break;
      const revision = e.kv.modRevision;
      if (out.length >= eventsMax && revision !== next - 1) break;
      if (match(e)) out.push(e);
      next = revision + 1;
    }
    return { events: out, next };
  }

  /** Index of the first kept event with revision >= start. */
  private lowerBound(start: number): number {
    let lo = this.head, hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.events[mid];
      if (e !== undefined && e.kv.modRevision < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
