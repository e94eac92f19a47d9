import type { Clock } from '../../../src/common/clock.js';
import type { Timer, Timers } from '../../../src/common/timers.js';
import type { Scheduler } from '../../../src/transport/raft/memory-network.js';

interface Task {
  readonly dueMs: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Resolves after the microtask (and nextTick) queues have drained: one real event-loop turn. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Discrete-event virtual time for the whole-node simulation. Tasks run in (time, insertion) order;
 * between two instants the simulator lets every microtask the tasks started run to completion
 * (settle), so async code advances exactly as far as it can without time passing. Nothing in the
 * simulated world uses real timers, so a seed replays identically.
 */
export class VirtualScheduler implements Scheduler {
  nowMs = 0;
  private seq = 0;
  private readonly heap: Task[] = [];

  /** For the memory network (its Scheduler port). */
  schedule(delayMs: number, task: () => void): void {
    this.at(this.nowMs + Math.max(0, delayMs), task);
  }

  at(dueMs: number, run: () => void): void {
    this.heap.push({ dueMs: Math.max(dueMs, this.nowMs), seq: this.seq++, run });
    this.siftUp(this.heap.length - 1);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  /** Run until `endMs` or until `stop()` holds (checked at every instant). */
  async runUntil(endMs: number, stop: () => boolean = () => false): Promise<void> {
    for (;;) {
      await settle();
      const next = this.heap[0];
      if (next === undefined || next.dueMs > endMs || stop()) break;
      this.nowMs = next.dueMs;
      while (this.heap[0] !== undefined && this.heap[0].dueMs === this.nowMs) this.pop().run();
    }
    if (!stop()) this.nowMs = Math.max(this.nowMs, endMs);
  }

  private before(a: Task, b: Task): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) return;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Task {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length === 0) return top;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
      if (m === i) return top;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/**
 * One process lifetime of a simulated node: its clock (drifting: `rate` local ms per virtual ms) and
 * its timers. A crash kills the incarnation: its timers never fire again and every port handle
 * bound to it stops answering, as a dead process would.
 */
export class Incarnation implements Clock, Timers {
  alive = true;

  constructor(
    private readonly sched: VirtualScheduler,
    private readonly rate: number,
    private readonly offsetMs: number,
  ) {}

  nowMs(): number {
    return this.offsetMs + this.sched.nowMs * this.rate;
  }

  /** Virtual ms for `localMs` of this node's clock (at least 1: time moves on). */
  private toVirtual(localMs: number): number {
    return Math.max(1, Math.round(localMs / this.rate));
  }

  after(delayMs: number, task: () => void): Timer {
    let live = true;
    this.sched.schedule(this.toVirtual(delayMs), () => {
      if (live && this.alive) task();
    });
    return { cancel: () => (live = false) };
  }

  every(periodMs: number, task: () => void): Timer {
    let live = true;
    const fire = (): void => {
      if (!live || !this.alive) return;
      this.sched.schedule(this.toVirtual(periodMs), fire);
      task();
    };
    this.sched.schedule(this.toVirtual(periodMs), fire);
    return { cancel: () => (live = false) };
  }

  /** A promise for work bound to this incarnation: it never settles once the process is dead. */
  guard<T>(work: () => Promise<T>): Promise<T> {
    if (!this.alive) return new Promise<T>(() => undefined);
    return work().then(
      (v) => (this.alive ? v : new Promise<T>(() => undefined)),
      (e: unknown) => (this.alive ? Promise.reject(e) : new Promise<T>(() => undefined)),
    );
  }

  /** Run `task` after `delayMs` virtual ms if still alive (disk latency). */
  later(delayMs: number, task: () => void): void {
    this.sched.schedule(delayMs, () => {
      if (this.alive) task();
    });
  }
}
