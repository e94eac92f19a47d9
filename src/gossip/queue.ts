/**
 * Transmit-limited broadcast queue (memberlist queue.go, reimplemented): each message is piggybacked
 * on outgoing packets until it has been sent `limit` times. Messages with fewer transmits go first,
 * newest first within a tier, so fresh news spreads before old news is repeated. A new message about
 * the same key (member name) replaces the old one. The queue is bounded: beyond `capacity` the most
 * transmitted messages are dropped (they have had the most chances to spread).
 */
interface Item {
  readonly key: string;
  readonly bytes: Uint8Array;
  transmits: number;
  live: boolean;
}

/** Smallest message worth looking for when a packet is nearly full. */
const SMALLEST_MESSAGE_BYTES = 8;

export class BroadcastQueue {
  private readonly byKey = new Map<string, Item>();
  /** tiers[t] holds the live items sent t times, oldest first. */
  private tiers: Item[][] = [[]];
  private size = 0;
  dropped = 0;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  queue(key: string, bytes: Uint8Array): void {
    this.invalidate(key);
    const item: Item = { key, bytes, transmits: 0, live: true };
    this.byKey.set(key, item);
    (this.tiers[0] ??= []).push(item);
    this.size++;
    while (this.size > this.capacity) this.dropOne();
  }

  /** Removes everything (used when the member count collapses and on leave). */
  reset(): void {
    this.byKey.clear();
    this.tiers = [[]];
    this.size = 0;
  }

  /**
   * Takes messages that fit in `budgetBytes`, counting `overheadBytes` per message, and counts one
   * transmit for each; messages sent `limit` times are retired.
   */
  take(overheadBytes: number, budgetBytes: number, limit: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    const promoted: Item[] = [];
    let remaining = budgetBytes;
    for (let t = 0; t < this.tiers.length && remaining >= overheadBytes + SMALLEST_MESSAGE_BYTES; t++) {
      const tier = this.tiers[t] ?? [];
      const kept: Item[] = [];
      // Newest first: walk from the end, then restore order for what stays.
      for (let i = tier.length - 1; i >= 0; i--) {
        const item = tier[i];
        if (item === undefined || !item.live) continue;
        const cost = item.bytes.length + overheadBytes;
        if (cost > remaining) {
          kept.push(item);
          continue;
        }
        remaining -= cost;
        out.push(item.bytes);
        item.transmits++;
        if (item.transmits >= limit) this.retire(item);
        else promoted.push(item);
      }
      this.tiers[t] = kept.reverse();
    }
    for (const item of promoted) (this.tiers[item.transmits] ??= []).push(item);
    return out;
  }

  /** Like take, but counts no transmit: for copies sent to members that cannot pass them on. */
  peek(overheadBytes: number, budgetBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let remaining = budgetBytes;
    for (const tier of this.tiers) {
      for (let i = tier.length - 1; i >= 0 && remaining >= overheadBytes + SMALLEST_MESSAGE_BYTES; i--) {
        const item = tier[i];
        if (item === undefined || !item.live || item.bytes.length + overheadBytes > remaining) continue;
        remaining -= item.bytes.length + overheadBytes;
        out.push(item.bytes);
      }
    }
    return out;
  }

  private invalidate(key: string): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.retire(old);
  }

  private retire(item: Item): void {
    if (!item.live) return;
    item.live = false;
    this.size--;
    if (this.byKey.get(item.key) === item) this.byKey.delete(item.key);
  }

  private dropOne(): void {
    for (let t = this.tiers.length - 1; t >= 0; t--) {
      const tier = this.tiers[t] ?? [];
      while (tier.length > 0) {
        const item = tier.shift();
        if (item !== undefined && item.live) {
          this.retire(item);
          this.dropped++;
          return;
        }
      }
    }
  }
}
