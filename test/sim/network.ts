import type { SeededRandom } from '../../src/common/random.js';
import type { Message, NodeId } from '../../src/raft/types.js';

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  /** Extra delay in ticks is uniform in [0, delayTicksMax]; random delays also reorder. */
  delayTicksMax: number;
}

interface InFlight {
  readonly deliverAt: number;
  readonly seq: number;
  readonly m: Message;
}

/**
 * A seeded, tick-driven network: messages are dropped, duplicated, delayed and reordered, and
 * directed links can be cut to model symmetric and asymmetric partitions.
 */
export class SimNetwork {
  private queue: InFlight[] = [];
  private seq = 0;
  private readonly cut = new Set<string>();
  faults: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 0 };
  delivered = 0;
  dropped = 0;

  constructor(private readonly rng: SeededRandom) {}

  private static key(from: NodeId, to: NodeId): string {
    return `${from}>${to}`;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(SimNetwork.key(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(SimNetwork.key(from, to));
  }

  /** Cut every link between the two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a)
      for (const y of b) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
  }

  healAll(): void {
    this.cut.clear();
  }

  partitioned(): boolean {
    return this.cut.size > 0;
  }

  /** Returns false if the message was lost (the sender may learn that for snapshots). */
  send(m: Message, now: number): boolean {
    if (this.isCut(m.from, m.to) || this.rng.chance(this.faults.dropRate)) {
      this.dropped++;
      return false;
    }
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = 1 + (this.faults.delayTicksMax > 0 ? this.rng.int(this.faults.delayTicksMax + 1) : 0);
      this.queue.push({ deliverAt: now + delay, seq: this.seq++, m });
    }
    return true;
  }

  /** Messages due at `now`, in a random order; a link cut meanwhile drops them. */
  due(now: number): Message[] {
    const ready: InFlight[] = [];
    const later: InFlight[] = [];
    for (const f of this.queue) (f.deliverAt <= now ? ready : later).push(f);
    this.queue = later;
    const out: Message[] = [];
    for (const f of ready) {
      if (this.isCut(f.m.from, f.m.to)) {
        this.dropped++;
        continue;
      }
      out.push(f.m);
    }
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    this.delivered += out.length;
    return out;
  }

  /** Drop everything addressed to or from a crashed node. */
  dropFor(id: NodeId): void {
    this.queue = this.queue.filter((f) => f.m.to !== id);
  }

  pending(): number {
    return this.queue.length;
  }
}
