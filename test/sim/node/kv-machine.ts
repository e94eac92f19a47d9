import { Readable } from 'node:stream';
import type { SeededRandom } from '../../../src/common/random.js';
import type { LeaseChange, LeaseRecord } from '../../../src/kv/index.js';
import type { StateMachine } from '../../../src/node/state-machine.js';
import type { Incarnation } from './scheduler.js';

/** A KV command, as clients propose it (JSON in the entry). */
export type KvCommand =
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly lease?: number }
  | { readonly op: 'del'; readonly key: string }
  | { readonly op: 'cas'; readonly key: string; readonly expect: string | null; readonly value: string }
  | { readonly op: 'grant'; readonly id: number; readonly ttlSeconds: number }
  | { readonly op: 'revoke'; readonly id: number };

export interface KvResult {
  /** cas: whether the swap happened; put with a lease: whether the lease existed; revoke: whether it did; else true. */
  readonly ok: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(c));
}

/**
 * Leases as KvStore keeps them: the state machine holds each lease's TTL and attached keys and deletes
 * the keys when a revoke applies; when a lease ends is the production Lessor's decision (host.ts).
 */
interface KvState {
  applied: number;
  data: Map<string, string>;
  /** Lease id -> TTL in seconds. */
  leases: Map<number, number>;
  /** Key -> the lease it is attached to. */
  attached: Map<string, number>;
}

function copyState(s: KvState): KvState {
  return { applied: s.applied, data: new Map(s.data), leases: new Map(s.leases), attached: new Map(s.attached) };
}

const emptyState = (): KvState => ({ applied: 0, data: new Map(), leases: new Map(), attached: new Map() });

/** Observes every apply: the world checks replicas agree (same index, same command, same state). */
export interface KvObserver {
  onApplied(nodeId: number, index: number, command: string, stateHash: number): void;
  onRestored(nodeId: number, index: number, stateHash: number): void;
}

/**
 * The simulation's replicated state machine: a deterministic in-memory KV map with put, delete and
 * compare-and-swap, durable the way KvStore on LevelDB is: each apply is one unsynced write, so a
 * crash keeps the state as of some recent applied index (never a torn one) and raft replays the rest.
 * (KvStore itself is bound to classic-level directories and file renames; see docs/ARCHITECTURE.md.)
 */
export class SimKvDisk {
  /** The state as of the last write the disk kept; `pending` are writes a crash may lose. */
  private flushed: KvState = emptyState();
  private pending: KvState[] = [];

  constructor(
    readonly nodeId: number,
    private readonly rng: SeededRandom,
    private readonly observer: KvObserver,
    /** Broken mode: this replica mis-applies some puts (the state hashes must catch it). */
    private readonly diverge: boolean,
  ) {}

  crash(): void {
    const kept = this.rng.int(this.pending.length + 1);
    if (kept > 0) this.flushed = this.pending[kept - 1]!;
    this.pending = [];
  }

  private record(s: KvState): void {
    this.pending.push(s);
    // The page cache is written back now and then: older writes become durable.
    if (this.pending.length > 4 + this.rng.int(16)) {
      this.flushed = this.pending[this.pending.length - 1]!;
      this.pending = [];
    }
  }

  /** The state machine port for one incarnation: starts from what the disk kept. */
  machine(inc: Incarnation): SimKv {
    const last = this.pending[this.pending.length - 1] ?? this.flushed;
    return new SimKv(this, inc, copyState(last));
  }

  // ---- used by SimKv ----

  write(state: KvState): void {
    this.record(copyState(state));
  }

  applyCommand(state: KvState, index: number, data: Uint8Array, changed: (c: LeaseChange) => void): KvResult {
    const text = decoder.decode(data);
    const c = JSON.parse(text) as KvCommand;
    const ok = applyTo(state, c, this.diverge && index % 7 === 0, changed);
    state.applied = index;
    this.observer.onApplied(this.nodeId, index, text, hashState(state));
    return { ok };
  }

  noop(state: KvState, index: number): void {
    state.applied = index;
    this.observer.onApplied(this.nodeId, index, 'noop', hashState(state));
  }

  restored(state: KvState): void {
    this.observer.onRestored(this.nodeId, state.applied, hashState(state));
  }
}

/** One command on the state; returns its result's `ok`. */
function applyTo(state: KvState, c: KvCommand, diverge: boolean, changed: (c: LeaseChange) => void): boolean {
  switch (c.op) {
    case 'put':
      if (c.lease !== undefined && !state.leases.has(c.lease)) return false;
      state.data.set(c.key, diverge ? `${c.value}!` : c.value);
      if (c.lease === undefined) state.attached.delete(c.key);
      else state.attached.set(c.key, c.lease);
      return true;
    case 'del':
      state.data.delete(c.key);
      state.attached.delete(c.key);
      return true;
    case 'cas':
      if ((state.data.get(c.key) ?? null) !== c.expect) return false;
      state.data.set(c.key, c.value);
      state.attached.delete(c.key);
      return true;
    case 'grant':
      if (state.leases.has(c.id)) return false;
      state.leases.set(c.id, c.ttlSeconds);
      changed({ kind: 'granted', lease: { id: c.id, ttlSeconds: c.ttlSeconds } });
      return true;
    case 'revoke':
      if (!state.leases.delete(c.id)) return false;
      for (const [key, lease] of [...state.attached]) {
        if (lease !== c.id) continue;
        state.attached.delete(key);
        state.data.delete(key);
      }
      changed({ kind: 'revoked', id: c.id });
      return true;
  }
}

export class SimKv implements StateMachine {
  private readonly leaseListeners = new Set<(c: LeaseChange) => void>();

  constructor(
    private readonly disk: SimKvDisk,
    private readonly inc: Incarnation,
    private state: KvState,
  ) {}

  appliedIndex(): number {
    return this.state.applied;
  }

  /** The lease records (the Lessor's port, as KvStore.leases()). */
  leases(): LeaseRecord[] {
    return [...this.state.leases].map(([id, ttlSeconds]) => ({ id, ttlSeconds }));
  }

  /** Lease grants, revocations and resets as they apply (the Lessor's port, as KvStore.onLeaseChange). */
  onLeaseChange(listener: (c: LeaseChange) => void): () => void {
    this.leaseListeners.add(listener);
    return () => this.leaseListeners.delete(listener);
  }

  private readonly emit = (c: LeaseChange): void => {
    for (const l of this.leaseListeners) l(c);
  };

  /** A local read (stale unless behind a read fence). */
  get(key: string): string | null {
    return this.state.data.get(key) ?? null;
  }

  apply(index: number, data: Uint8Array): Promise<unknown> {
    return this.inc.guard(async () => {
      const r = this.disk.applyCommand(this.state, index, data, this.emit);
      this.disk.write(this.state);
      return r;
    });
  }

  applyBatch(entries: ReadonlyArray<{ readonly index: number; readonly data: Uint8Array }>): Promise<unknown[]> {
    return this.inc.guard(async () => {
      const results = entries.map((e) => this.disk.applyCommand(this.state, e.index, e.data, this.emit));
      this.disk.write(this.state);
      return results;
    });
  }

  applyNoop(index: number): Promise<void> {
    return this.inc.guard(async () => {
      this.disk.noop(this.state, index);
      this.disk.write(this.state);
    });
  }

  snapshot(): Promise<{ index: number; stream: Readable }> {
    return this.inc.guard(async () => {
      const s = this.state;
      const body = JSON.stringify({ applied: s.applied, data: [...s.data], leases: [...s.leases], attached: [...s.attached] });
      return { index: this.state.applied, stream: Readable.from([Buffer.from(body)]) };
    });
  }

  restore(stream: Readable): Promise<{ index: number }> {
    return this.inc.guard(async () => {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { applied: number; data: [string, string][]; leases: [number, number][]; attached: [string, number][] };
      this.state = { applied: parsed.applied, data: new Map(parsed.data), leases: new Map(parsed.leases), attached: new Map(parsed.attached) };
      this.disk.write(this.state);
      this.disk.restored(this.state);
      this.emit({ kind: 'reset', leases: this.leases() });
      return { index: this.state.applied };
    });
  }
}

/** FNV-1a over the sorted entries: equal states hash equal on every replica. */
export function hashState(s: KvState): number {
  let h = 0x811c9dc5;
  const mix = (text: string): void => {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  };
  for (const k of [...s.data.keys()].sort()) mix(`${k}=${s.data.get(k)!}@${s.attached.get(k) ?? 0};`);
  for (const id of [...s.leases.keys()].sort((a, b) => a - b)) mix(`L${id}:${s.leases.get(id)!};`);
  return h;
}
