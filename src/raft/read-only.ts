import type { Message, NodeId } from './types.js';

interface PendingRead {
  readonly index: number;
  readonly request: Message;
  readonly acks: Set<NodeId>;
}

export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (const b of ctx) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/**
 * ReadIndex requests waiting for a quorum of heartbeat acknowledgements. A round that confirms a
 * later request confirms every earlier one too, so reads arriving together share one round.
 */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];
  /** Requests that wait for the new leader to commit an entry of its term (thesis §6.4). */
  private deferred: Message[] = [];

  defer(request: Message): void {
    this.deferred.push(request);
  }

  /** Hand back the deferred requests (the leader now has a committed entry of its term). */
  takeDeferred(): Message[] {
    const out = this.deferred;
    this.deferred = [];
    return out;
  }

  hasDeferred(): boolean {
    return this.deferred.length > 0;
  }

  add(index: number, request: Message): void {
    const key = contextKey(request.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, request, acks: new Set() });
    this.queue.push(key);
  }

  /** Record an ack; returns the acknowledging set, or undefined for an unknown context. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const p = this.pending.get(contextKey(ctx));
    if (!p) return undefined;
    p.acks.add(id);
    return p.acks;
  }

  /** Release every request up to and including `ctx`, in arrival order. */
  advance(ctx: Uint8Array): { index: number; request: Message }[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1).map((k) => this.pending.get(k)!);
    for (const k of this.queue.slice(0, at + 1)) this.pending.delete(k);
    this.queue = this.queue.slice(at + 1);
    // Confirmed at the released request's index; earlier requests recorded a lower or equal index.
    return released.map((p) => ({ index: p.index, request: p.request }));
  }

  lastPendingContext(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)!.request.context;
  }

  size(): number {
    return this.queue.length;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
    this.deferred = [];
  }
}
