import type { Readable } from 'node:stream';
import { decodeCommand, encodeCommand, encodeCommandResult, validateCommand, type KvStore } from '../../../src/kv/index.js';
import { CompareResult, type Command, type CommandResult, type RangeOp } from '../../../src/kv/types.js';
import type { StateMachine } from '../../../src/node/state-machine.js';

/** What the simulated clients ask for; each becomes the real KV command the etcd handlers build. */
export type KvCommand =
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly lease?: number }
  | { readonly op: 'del'; readonly key: string }
  | { readonly op: 'cas'; readonly key: string; readonly expect: string | null; readonly value: string }
  | { readonly op: 'grant'; readonly id: number; readonly ttlSeconds: number }
  | { readonly op: 'revoke'; readonly id: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
/** How often (in applied indexes) a replica reports its state hash; see reportState. */
const STATE_HASH_EVERY = 4;

/** The real command for a client's request, validated as the service validates it. */
export function toCommand(c: KvCommand): Command {
  const key = 'key' in c ? encoder.encode(c.key) : EMPTY;
  const put = (value: string, lease?: number) => ({ key, value: encoder.encode(value), prevKv: false, ...(lease === undefined ? {} : { lease }) });
  let cmd: Command;
  switch (c.op) {
    case 'put':
      cmd = { op: { kind: 'put', put: put(c.value, c.lease) }, requestId: null };
      break;
    case 'del':
      cmd = { op: { kind: 'delete', delete: { key, rangeEnd: EMPTY, prefix: EMPTY, prevKv: false } }, requestId: null };
      break;
    case 'cas': {
      // etcd's compare-and-swap: value equal, or (expecting absence) version 0.
      const compare = c.expect === null
        ? { key, result: CompareResult.Equal, target: { kind: 'version' as const, version: 0 } }
        : { key, result: CompareResult.Equal, target: { kind: 'value' as const, value: encoder.encode(c.expect) } };
      cmd = { op: { kind: 'txn', txn: { compare: [compare], success: [{ kind: 'put', put: put(c.value) }], failure: [] } }, requestId: null };
      break;
    }
    case 'grant':
      cmd = { op: { kind: 'leaseGrant', leaseGrant: { id: c.id, ttlSeconds: c.ttlSeconds } }, requestId: null };
      break;
    case 'revoke':
      cmd = { op: { kind: 'leaseRevoke', leaseRevoke: { id: c.id } }, requestId: null };
      break;
  }
  validateCommand(cmd);
  return cmd;
}

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return encodeCommand(toCommand(c));
}

/**
 * A command's outcome as the client sees it: cas whether it swapped; put with a lease whether the
 * lease existed; grant and revoke whether they took effect; any other result is a bug.
 */
export function resultOk(r: CommandResult): boolean {
  switch (r.kind) {
    case 'put':
    case 'delete':
    case 'leaseGrant':
    case 'leaseRevoke':
      return true;
    case 'txn':
      return r.succeeded;
    case 'rejected':
      return false;
    default:
      throw new Error(`unexpected command result ${r.kind}`);
  }
}

/** An entry's identity for the checks: the command bytes as latin1 ('noop' for entries without one). */
export function commandId(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}

/** A command or result id for a message: its first bytes in hex. */
export function showId(id: string): string {
  return id === 'noop' ? id : Buffer.from(id, 'latin1').toString('hex').slice(0, 64);
}

/** Observes every apply: the world checks replicas agree (same index, same command, result and state). */
export interface KvObserver {
  onApplied(nodeId: number, index: number, command: string, result: string): void;
  /** The state hash after applying (or restoring) up to `index`. */
  onState(nodeId: number, index: number, stateHash: number): void;
  onRestored(nodeId: number, index: number): void;
}

const ALL_KEYS: RangeOp = { prefix: EMPTY, start: new Uint8Array([0]), end: EMPTY, limit: 0, startAfter: EMPTY, keysOnly: false, countOnly: false };

/**
 * The simulation's state machine: the production KvStore (on the simulated KV disk) behind the
 * node's StateMachine port, reporting each applied command, its result and the state hash after
 * each batch to the checker.
 */
export class SimKvMachine implements StateMachine {
  constructor(
    readonly store: KvStore,
    private readonly nodeId: number,
    private readonly observer: KvObserver,
    /** Broken mode: this replica mis-applies some puts (the state hashes must catch it). */
    private readonly diverge: boolean,
  ) {}

  appliedIndex(): number {
    return this.store.appliedIndex();
  }

  async apply(index: number, data: Uint8Array): Promise<unknown> {
    const [result] = await this.applyBatch([{ index, data }]);
    return result;
  }

  async applyBatch(entries: ReadonlyArray<{ readonly index: number; readonly data: Uint8Array }>): Promise<CommandResult[]> {
    const input = this.diverge ? entries.map((e) => ({ index: e.index, data: e.index % 7 === 0 ? misapply(e.data) : e.data })) : entries;
    const results = await this.store.applyBatch(input);
    entries.forEach((e, i) => this.observer.onApplied(this.nodeId, e.index, commandId(e.data), commandId(encodeCommandResult(results[i]!))));
    await this.reportState();
    return results;
  }

  async applyNoop(index: number): Promise<void> {
    await this.store.applyNoop(index);
    this.observer.onApplied(this.nodeId, index, 'noop', 'noop');
    await this.reportState();
  }

  async snapshot(): Promise<{ index: number; stream: Readable }> {
    const { index, stream } = await this.store.snapshot();
    return { index, stream };
  }

  async restore(stream: Readable, opts: { signal?: AbortSignal }): Promise<{ index: number }> {
    const { index } = await this.store.restore(stream, opts);
    this.observer.onRestored(this.nodeId, index);
    await this.reportState(true);
    return { index };
  }

  /** A local read of the current value (stale unless behind a read fence). */
  async get(key: string): Promise<string | null> {
    const { kv } = await this.store.get(encoder.encode(key));
    return kv === null ? null : decoder.decode(kv.value);
  }

  /**
   * Hashes the whole store, so only at every STATE_HASH_EVERY-th applied index (and after a
   * restore): a divergence persists, and replicas are compared wherever both report.
   */
  private async reportState(always = false): Promise<void> {
    const index = this.store.appliedIndex();
    if (!always && index % STATE_HASH_EVERY !== 0) return;
    this.observer.onState(this.nodeId, index, await hashStore(this.store));
  }
}

/** Rewrites a put's value (the divergent replica's bug). */
function misapply(data: Uint8Array): Uint8Array {
  const cmd = decodeCommand(data);
  if (cmd.op?.kind !== 'put') return data;
  return encodeCommand({ ...cmd, op: { kind: 'put', put: { ...cmd.op.put, value: encoder.encode(`${decoder.decode(cmd.op.put.value)}!`) } } });
}

/** FNV-1a over the revision, every key's record and every lease: equal states hash equal on every replica. */
export async function hashStore(store: KvStore): Promise<number> {
  const stats = store.stats();
  const page = await store.range(ALL_KEYS);
  let h = 0x811c9dc5;
  const byte = (b: number): void => void (h = Math.imul(h ^ b, 0x01000193) >>> 0);
  const num = (n: number): void => {
    for (let i = 0; i < 5; i++) byte(Math.floor(n / 2 ** (8 * i)) & 0xff);
  };
  const bytes = (b: Uint8Array): void => {
    num(b.length);
    for (let i = 0; i < b.length; i++) byte(b[i]!);
  };
  [page.revision, stats.compactRevision, page.count].forEach(num);
  for (const kv of page.kvs) {
    bytes(kv.key);
    bytes(kv.value);
    [kv.createRevision, kv.modRevision, kv.version, kv.lease ?? 0].forEach(num);
  }
  for (const l of store.leases().sort((a, b) => a.id - b.id)) [l.id, l.ttlSeconds].forEach(num);
  return h;
}
