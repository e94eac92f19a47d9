import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { CorruptionError } from '../common/errors.js';
import type { Timer, Timers } from '../common/timers.js';
import type { ConfState, SnapshotMeta } from '../raft/types.js';
import { snapshotId } from '../storage/snapshot-meta.js';
import type { SnapshotSink as TransportSink } from '../transport/raft/types.js';
import type { LogStore, SnapshotStore } from './ports.js';
import type { StateMachine } from './state-machine.js';

/** When the manager snapshots and how much log it keeps (see RaftNodeOptions). */
export interface SnapshotPolicy {
  readonly snapshotEntries: number;
  readonly snapshotIntervalMs: number;
  readonly trailingLogs: number;
}

/** Largest address-book header in a snapshot file. */
const HEADER_BYTES_MAX = 1024 * 1024;

/**
 * Snapshots of one node: taken by entry count, by interval and on request; compaction afterwards;
 * streaming out to followers; installing one received from a leader.
 *
 * File format (opaque to the store): [u32 BE header length][header JSON: { peers }][state machine
 * data]. The header carries the members' raft addresses, because a node that joins through a
 * snapshot never sees the configuration entries that announced them.
 */
export class SnapshotManager {
  taken = 0;
  private inProgress: Promise<number> | null = null;
  private interval: Timer | null = null;
  private lastIndex: number;
  private readonly stopping = new AbortController();
  /** Supplies the conf state and address book at snapshot time. */
  peers: () => Record<string, string> = () => ({});
  onPeers: (peers: Record<string, string>) => Promise<void> = () => Promise.resolve();
  confNow: () => ConfState = () => ({ voters: [], learners: [] });
  /** The last index the raft core has applied (it hands out entries after it from the log). */
  coreApplied: () => number = () => Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly policy: SnapshotPolicy,
    private readonly sm: StateMachine,
    private readonly storage: LogStore,
    private readonly store: SnapshotStore,
    private readonly timers: Timers,
    private readonly log: Logger,
  ) {
    this.lastIndex = storage.snapshot().meta.index;
  }

  startInterval(): void {
    const tick = (): void => {
      if (this.sm.appliedIndex() > this.lastIndex) this.background();
    };
    this.interval = this.timers.every(this.policy.snapshotIntervalMs, tick, { background: true });
  }

  /** After a crash, the state machine may be older than the log's snapshot: reload it from the file. */
  async restoreStateMachineIfBehind(signal: AbortSignal | undefined): Promise<void> {
    const meta = this.storage.snapshot().meta;
    if (meta.index === 0 || this.sm.appliedIndex() >= meta.index) return;
    await this.restoreFrom(meta, signal);
    this.log.info({ index: meta.index }, 'state machine restored from the latest snapshot');
  }

  /**
   * A snapshot received from the leader (already stored by the transport) replaces the state
   * machine. The driver then records its meta in the log, in the same write as the Ready's hard
   * state (a crash between the two would leave a commit index below the snapshot), and calls
   * installed().
   */
  async restoreReceived(meta: SnapshotMeta): Promise<void> {
    await this.restoreFrom(meta, this.stopping.signal);
  }

  installed(meta: SnapshotMeta): void {
    this.lastIndex = meta.index;
    this.log.info({ index: meta.index, term: meta.term }, 'installed a snapshot from the leader');
  }

  private async restoreFrom(meta: SnapshotMeta, signal: AbortSignal | undefined): Promise<void> {
    const id = snapshotId(meta.index, meta.term);
    const file = await this.store.open(id, signal ? { signal } : {});
    const { peers, rest } = await splitHeader(file, id);
    await this.onPeers(peers);
    const restored = await this.sm.restore(rest, signal ? { signal } : {});
    if (restored.index !== meta.index) {
      throw new CorruptionError(`snapshot ${id} holds state machine index ${restored.index}, expected ${meta.index}`);
    }
  }

  maybeSnapshot(): void {
    if (this.sm.appliedIndex() - this.lastIndex >= this.policy.snapshotEntries) this.background();
  }

  private background(): void {
    if (this.inProgress) return;
    this.take().catch((err: unknown) => this.log.warn({ err }, 'snapshot failed'));
  }

  /** Take a snapshot now (or join the one in progress); resolves with its index. */
  take(signal?: AbortSignal): Promise<number> {
    if (!this.inProgress) {
      this.inProgress = this.takeNow().finally(() => (this.inProgress = null));
    }
    const p = this.inProgress;
    if (!signal) return p;
    return Promise.race([p, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
  }

  private async takeNow(): Promise<number> {
    const conf = this.confNow();
    const peers = this.peers();
    const { index, stream } = await this.sm.snapshot();
    if (index <= this.storage.snapshot().meta.index) {
      stream.destroy();
      return this.storage.snapshot().meta.index;
    }
    const meta: SnapshotMeta = { index, term: this.storage.term(index), conf };
    const sink = await this.store.create(meta, { signal: this.stopping.signal });
    try {
      await sink.write(encodeHeader(peers));
      for await (const chunk of stream) await sink.write(chunk as Uint8Array);
      await sink.commit();
    } catch (e) {
      stream.destroy();
      await sink.abort();
      throw e;
    }
    await this.storage.recordSnapshot(meta);
    this.lastIndex = index;
    this.taken++;
    // After a restart the state machine can be ahead of the core (the commit index on disk lagged
    // the applies): the core still reads the entries in between from the log to hand them out (the
    // driver skips them), so they stay until it has passed them. Found by the whole-node simulation.
    const compactTo = Math.min(index, this.coreApplied()) - this.policy.trailingLogs;
    if (compactTo >= this.storage.firstIndex()) await this.storage.compact(compactTo);
    this.log.info({ index, term: meta.term, compactedTo: Math.max(compactTo, 0) }, 'snapshot taken');
    return index;
  }

  /** The transport streams a snapshot file to a follower. */
  async *openForSend(meta: SnapshotMeta, signal: AbortSignal): AsyncIterable<Uint8Array> {
    const file = await this.store.open(snapshotId(meta.index, meta.term), { signal });
    yield* file;
  }

  /** Where the transport writes a snapshot arriving from the leader. */
  async sinkForReceive(meta: SnapshotMeta): Promise<TransportSink> {
    const sink = await this.store.create(meta, { signal: this.stopping.signal });
    return {
      write: (chunk) => sink.write(chunk),
      finish: async () => {
        await sink.commit();
      },
      abort: async () => sink.abort(),
    };
  }

  async stop(): Promise<void> {
    this.interval?.cancel();
    this.stopping.abort();
    await this.inProgress?.catch(() => undefined);
  }
}

function encodeHeader(peers: Record<string, string>): Uint8Array {
  const json = Buffer.from(JSON.stringify({ peers }), 'utf8');
  const out = Buffer.alloc(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

/** Read the header off the front of a snapshot file; the rest streams on to the state machine. */
async function splitHeader(file: AsyncIterable<Uint8Array>, id: string): Promise<{ peers: Record<string, string>; rest: Readable }> {
  const it = file[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  let need = 4;
  while (buf.length < need) {
    const step: IteratorResult<Uint8Array, unknown> = await it.next();
    if (step.done === true) throw new CorruptionError(`snapshot ${id} ends inside its header`);
    buf = Buffer.concat([buf, step.value]);
    if (need === 4 && buf.length >= 4) {
      need = 4 + buf.readUInt32BE(0);
      if (need > HEADER_BYTES_MAX) throw new CorruptionError(`snapshot ${id} has a header of ${need} bytes`);
    }
  }
  let parsed: { peers?: Record<string, string> };
  try {
    parsed = JSON.parse(buf.subarray(4, need).toString('utf8')) as { peers?: Record<string, string> };
  } catch {
    throw new CorruptionError(`snapshot ${id} has an unreadable header`);
  }
  const first = buf.subarray(need);
  async function* remainder(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    for (;;) {
      const step: IteratorResult<Uint8Array, unknown> = await it.next();
      if (step.done === true) return;
      const value = step.value;
      yield Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return { peers: parsed.peers ?? {}, rest: Readable.from(remainder()) };
}
