import { InvalidArgumentError } from '../../common/errors.js';
import type { Random } from '../../common/random.js';
import type { Message, NodeId } from '../../raft/types.js';

/** Runs `task` after `delayMs`. Inject a manual one to make a simulation deterministic. */
export interface Scheduler {
  schedule(delayMs: number, task: () => void): void;
}

/** Real time: microtasks for zero delay, timers otherwise. */
export const realScheduler: Scheduler = {
  schedule(delayMs, task) {
    if (delayMs <= 0) queueMicrotask(task);
    else setTimeout(task, delayMs);
  },
};

interface Timed {
  readonly dueMs: number;
  readonly seq: number;
  readonly task: () => void;
}

/** Virtual time for tests: tasks run only in `advance`, in due-time order (ties in schedule order). */
export class ManualScheduler implements Scheduler {
  private nowMs = 0;
  private seq = 0;
  /** Binary min-heap on (dueMs, seq). */
  private readonly heap: Timed[] = [];

  get now(): number {
    return this.nowMs;
  }

  get pending(): number {
    return this.heap.length;
  }

  schedule(delayMs: number, task: () => void): void {
    this.heap.push({ dueMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, task });
    this.siftUp(this.heap.length - 1);
  }

  /** Moves time forward by `ms`, running every task that falls due (including ones they schedule). */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.dueMs > until) break;
      this.pop();
      this.nowMs = next.dueMs;
      next.task();
    }
    this.nowMs = until;
  }

  private before(a: Timed, b: Timed): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    [h[i], h[j]] = [h[j] as Timed, h[i] as Timed];
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.heap[i] as Timed, this.heap[parent] as Timed)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last === undefined || this.heap.length === 0) return;
    this.heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.before(this.heap[l] as Timed, this.heap[m] as Timed)) m = l;
      if (r < this.heap.length && this.before(this.heap[r] as Timed, this.heap[m] as Timed)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

export interface LinkFaults {
  /** Probability in [0, 1] that a message is lost. */
  dropRate: number;
  /** Probability in [0, 1] that a message is delivered twice. */
  duplicateRate: number;
  /** Delay of one message; different delays reorder messages. */
  delayMs: (from: NodeId, to: NodeId, random: Random) => number;
}

/** What a MemoryTransport registers: how the network hands it a message. */
export interface MemoryEndpoint {
  readonly localId: NodeId;
  receive(message: Message): void;
  /** Streams a snapshot into this node; resolves with the bytes stored, rejects on any failure. */
  receiveSnapshot(header: Message, source: AsyncIterable<Uint8Array>, linkUp: () => boolean, senderSignal: AbortSignal): Promise<number>;
}

/**
 * The shared medium of MemoryTransports, with fault injection: random loss, duplication, delay
 * (hence reordering) through an injected scheduler, and partitions. Decisions use the injected
 * Random, so a seed reproduces a run.
 */
export class MemoryNetwork {
  readonly faults: LinkFaults = { dropRate: 0, duplicateRate: 0, delayMs: () => 0 };
  readonly counters = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, partitioned: 0 };
  private readonly endpoints = new Map<NodeId, MemoryEndpoint>();
  /** Directed links that are cut: "from>to". */
  private readonly cut = new Set<string>();

  constructor(
    readonly random: Random,
    readonly scheduler: Scheduler = realScheduler,
  ) {}

  register(endpoint: MemoryEndpoint): void {
    if (this.endpoints.has(endpoint.localId)) throw new InvalidArgumentError(`node ${endpoint.localId} is already on the network`);
    this.endpoints.set(endpoint.localId, endpoint);
  }

  unregister(endpoint: MemoryEndpoint): void {
    if (this.endpoints.get(endpoint.localId) === endpoint) this.endpoints.delete(endpoint.localId);
  }

  isRegistered(nodeId: NodeId): boolean {
    return this.endpoints.has(nodeId);
  }

  /** Nodes in different groups cannot reach each other (both directions); nodes in no group are unaffected. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const [i, g] of groups.entries()) {
      for (const [j, h] of groups.entries()) {
        if (i === j) continue;
        for (const a of g) for (const b of h) this.cut.add(`${a}>${b}`);
      }
    }
  }

  /** Cuts one direction only (asymmetric faults). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(`${from}>${to}`);
  }

  /**
   * Routes one message. False when no endpoint has that id (the sender reports unreachable);
   * losses from faults are silent, as on a real network. `onSettled` runs once per accepted message,
   * when it was delivered or lost, so senders can bound what they have in flight.
   */
  route(message: Message, onSettled: () => void): boolean {
    if (!this.endpoints.has(message.to)) return false;
    this.counters.sent += 1;
    if (!this.canReach(message.from, message.to)) {
      this.counters.partitioned += 1;
      this.scheduler.schedule(0, onSettled);
      return true;
    }
    if (this.random.float() < this.faults.dropRate) {
      this.counters.dropped += 1;
      this.scheduler.schedule(0, onSettled);
      return true;
    }
    const copies = this.random.float() < this.faults.duplicateRate ? 2 : 1;
    if (copies === 2) this.counters.duplicated += 1;
    let remaining = copies;
    for (let i = 0; i < copies; i++) {
      const delayMs = this.faults.delayMs(message.from, message.to, this.random);
      this.scheduler.schedule(delayMs, () => {
        this.deliver(message);
        remaining -= 1;
        if (remaining === 0) onSettled();
      });
    }
    return true;
  }

  /** The receiver of a snapshot stream, or undefined when it is absent, cut off, or the stream is lost. */
  snapshotTarget(from: NodeId, to: NodeId): MemoryEndpoint | undefined {
    const endpoint = this.endpoints.get(to);
    if (endpoint === undefined || !this.canReach(from, to)) return undefined;
    if (this.random.float() < this.faults.dropRate) {
      this.counters.dropped += 1;
      return undefined;
    }
    return endpoint;
  }

  private deliver(message: Message): void {
    // Re-checked at delivery: a partition or a crash that happened in flight still loses the message.
    const endpoint = this.endpoints.get(message.to);
    if (endpoint === undefined || !this.canReach(message.from, message.to)) {
      this.counters.partitioned += 1;
      return;
    }
    this.counters.delivered += 1;
    endpoint.receive(message);
  }
}
