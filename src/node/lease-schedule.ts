/**
 * Pure lease bookkeeping for the lessor (src/node/lessor.ts): when each lease expires, given the
 * time as an argument. No clock, no timers, no I/O, so the lessor's rules can be tested with made-up
 * times and driven by a simulated clock.
 *
 * etcd's rules (server/lease/lessor.go): only the primary (the leader's lessor) times leases; on a
 * follower every lease lives "forever". Promotion gives every lease its full TTL plus an extension
 * (the election timeout), so no lease expires because the old leader died. A lease found expired is
 * handed out for revocation, and handed out again after `revokeRetryMs` if it still exists then
 * (its revocation got lost, e.g. in a leader change).
 */
export interface ScheduleOptions {
  readonly revokeRetryMs: number;
}

interface Entry {
  readonly ttlSeconds: number;
  expiresAtMs: number;
  /** When the heap should next look at this lease: its expiry, or the next revoke retry. */
  checkAtMs: number;
}

export class LeaseSchedule {
  private readonly leases = new Map<number, Entry>();
  /** Min-heap of [checkAtMs, id]; entries whose time no longer matches the lease are stale and skipped. */
  private heap: Array<readonly [number, number]> = [];
  private primary = false;

  constructor(private readonly opts: ScheduleOptions) {}

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  has(id: number): boolean {
    return this.leases.has(id);
  }

  /** A lease granted (applied): it runs its TTL from now on the primary, forever elsewhere. */
  add(id: number, ttlSeconds: number, nowMs: number): void {
    const expiresAtMs = this.primary ? nowMs + ttlSeconds * 1000 : Infinity;
    this.leases.set(id, { ttlSeconds, expiresAtMs, checkAtMs: expiresAtMs });
    this.push(expiresAtMs, id);
  }

  remove(id: number): void {
    this.leases.delete(id); // its heap entries go stale
  }

  /** Replaces every lease (a snapshot was restored). */
  reset(leases: ReadonlyArray<{ readonly id: number; readonly ttlSeconds: number }>, nowMs: number): void {
    this.leases.clear();
    this.heap = [];
    for (const l of leases) this.add(l.id, l.ttlSeconds, nowMs);
  }

  /** Becoming leader: every lease gets now + TTL + `extendMs`. */
  promote(nowMs: number, extendMs: number): void {
    this.primary = true;
    this.heap = [];
    for (const [id, e] of this.leases) {
      e.expiresAtMs = nowMs + e.ttlSeconds * 1000 + extendMs;
      e.checkAtMs = e.expiresAtMs;
      this.push(e.checkAtMs, id);
    }
  }

  /** Losing leadership: nothing expires here any more. */
  demote(): void {
    this.primary = false;
    this.heap = [];
    for (const e of this.leases.values()) {
      e.expiresAtMs = Infinity;
      e.checkAtMs = Infinity;
    }
  }

  /**
   * A keep-alive on the primary: the lease runs its full TTL again from now. Returns the TTL, or null
   * when the lease is unknown or already expired (its revocation is under way: etcd answers
   * not-found then too).
   */
  renew(id: number, nowMs: number): number | null {
    const e = this.leases.get(id);
    if (e === undefined || !this.primary || e.expiresAtMs <= nowMs) return null;
    e.expiresAtMs = nowMs + e.ttlSeconds * 1000;
    e.checkAtMs = e.expiresAtMs;
    this.push(e.checkAtMs, id);
    return e.ttlSeconds;
  }

  /** Milliseconds left (0 once expired; Infinity off the primary), or null for an unknown lease. */
  remainingMs(id: number, nowMs: number): number | null {
    const e = this.leases.get(id);
    if (e === undefined) return null;
    return Math.max(0, e.expiresAtMs - nowMs);
  }

  ttlSeconds(id: number): number | null {
    return this.leases.get(id)?.ttlSeconds ?? null;
  }

  /**
   * Up to `max` leases that have expired by `nowMs` and were not handed out in the last
   * revokeRetryMs; each is handed out again after revokeRetryMs if it is still here then.
   */
  due(nowMs: number, max: number): number[] {
    const out: number[] = [];
    while (out.length < max) {
      const top = this.heap[0];
      if (top === undefined || top[0] > nowMs) break;
      this.pop();
      const [at, id] = top;
      const e = this.leases.get(id);
      if (e === undefined || e.checkAtMs !== at) continue; // stale entry
      out.push(id);
      e.checkAtMs = nowMs + this.opts.revokeRetryMs;
      this.push(e.checkAtMs, id);
    }
    return out;
  }

  /** Lease ids, soonest expiry first (etcd's Leases order). */
  list(): number[] {
    return [...this.leases.entries()].sort((a, b) => a[1].expiresAtMs - b[1].expiresAtMs || a[0] - b[0]).map(([id]) => id);
  }

  private push(at: number, id: number): void {
    if (at === Infinity) return;
    // Renewals leave stale entries behind; rebuild once they dominate, so memory stays O(leases).
    if (this.heap.length > 4 * this.leases.size + 64) this.rebuild();
    const h = this.heap;
    h.push([at, id]);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]![0] <= h[i]![0]) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && h[l]![0] < h[m]![0]) m = l;
      if (r < h.length && h[r]![0] < h[m]![0]) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }

  private rebuild(): void {
    const live = [...this.leases.entries()].filter(([, e]) => e.checkAtMs !== Infinity);
    this.heap = [];
    for (const [id, e] of live) {
      this.heap.push([e.checkAtMs, id]);
    }
    this.heap.sort((a, b) => a[0] - b[0]); // a sorted array is a valid min-heap
  }
}

/**
 * etcd's minimum lease TTL (server/etcdserver/server.go minTTL): ceil((3 * electionTicks / 2) *
 * tickMs) in seconds, with integer division for 3 * electionTicks / 2. Shorter TTLs are raised to it.
 */
export function minLeaseTtlSeconds(tickMs: number, electionTicks: number): number {
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * tickMs) / 1000);
}
