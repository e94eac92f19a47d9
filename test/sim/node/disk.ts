import type { SeededRandom } from '../../../src/common/random.js';
import { crc32c } from '../../../src/storage/crc32c.js';
import type { LogBatchOp, LogDb } from '../../../src/storage/log-load.js';
import { snapshotId } from '../../../src/storage/snapshot-meta.js';
import type { PeerBook, SnapshotStore, SnapshotWriter } from '../../../src/node/ports.js';
import type { NodeId, SnapshotMeta } from '../../../src/raft/types.js';
import type { Incarnation } from './scheduler.js';

export interface DiskFaults {
  /** Virtual ms a write takes, uniform in [0, writeLatencyMsMax]. */
  writeLatencyMsMax: number;
  /** Broken mode: a "synced" write is not made durable (acknowledging what a crash can lose). */
  ignoreSync: boolean;
  /** Broken mode: a flipped read comes with a matching checksum (as if the store had none). */
  resealFlips: boolean;
  /** Probability that a write fails with an I/O error (the bytes may or may not have landed). */
  writeErrorRate: number;
}

/** What the simulated disk throws for a failed write (EIO). */
export class SimulatedWriteError extends Error {
  override readonly name = 'SimulatedWriteError';
}

type Image = Map<string, Buffer>;

function applyOps(image: Image, ops: readonly LogBatchOp[]): void {
  for (const op of ops) {
    const k = op.key.toString('hex');
    if (op.type === 'put') image.set(k, Buffer.from(op.value));
    else image.delete(k);
  }
}

/**
 * The simulated disk under one node's raft log (it survives the node's crashes). Like LevelDB on a
 * real disk: a write is one atomic batch; a synced write is durable when it completes, an unsynced
 * one sits in the page cache. A crash keeps the durable image plus some prefix of the later writes
 * (each whole: LevelDB drops a torn tail record of its write-ahead log); the rest is lost.
 */
export class SimLogDisk {
  private durable: Image = new Map();
  /** What reads see: durable plus completed unsynced writes. */
  private current: Image = new Map();
  /** Writes that completed unsynced, then the one in flight (not completed), in order. */
  private unsynced: LogBatchOp[][] = [];
  private inFlight: LogBatchOp[] | null = null;
  writes = 0;
  lostWrites = 0;
  /** Test hook: sees every write as it completes. */
  onWriteDone: ((ops: readonly LogBatchOp[], sync: boolean) => void) | null = null;

  constructor(
    readonly name: string,
    private readonly faults: DiskFaults,
    private readonly rng: SeededRandom,
  ) {}

  /** A handle for one incarnation; `flipOnRead` returns one read value with a flipped bit. */
  open(inc: Incarnation, flipOnRead: boolean): SimLogDb {
    return new SimLogDb(this, inc, flipOnRead, this.rng, this.faults.resealFlips);
  }

  /**
   * The process died: unsynced writes survive only as a random prefix (the in-flight one too), or
   * none of them with `loseAllUnsynced`.
   */
  crash(loseAllUnsynced = false): void {
    const pending = this.inFlight ? [...this.unsynced, this.inFlight] : this.unsynced;
    const kept = loseAllUnsynced ? 0 : this.rng.int(pending.length + 1);
    for (const ops of pending.slice(0, kept)) applyOps(this.durable, ops);
    this.lostWrites += pending.length - kept;
    this.unsynced = [];
    this.inFlight = null;
    this.current = new Map(this.durable);
  }

  // ---- used by SimLogDb ----

  read(key: string): Buffer | undefined {
    return this.current.get(key);
  }

  sortedRange(gte: string, lt: string): [string, Buffer][] {
    return [...this.current.entries()].filter(([k]) => k >= gte && k < lt).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  startWrite(ops: LogBatchOp[]): { latencyMs: number; fails: boolean } {
    this.inFlight = ops;
    this.writes++;
    return { latencyMs: this.rng.int(this.faults.writeLatencyMsMax + 1), fails: this.rng.chance(this.faults.writeErrorRate) };
  }

  completeWrite(ops: LogBatchOp[], sync: boolean): void {
    this.inFlight = null;
    applyOps(this.current, ops);
    this.unsynced.push(ops);
    if (sync && !this.faults.ignoreSync) {
      for (const w of this.unsynced) applyOps(this.durable, w);
      this.unsynced = [];
    }
    this.onWriteDone?.(ops, sync);
  }
}

/** The LogDb port over a SimLogDisk, bound to one incarnation (dead: nothing answers). */
export class SimLogDb implements LogDb {
  private flipPending: boolean;
  /** Whether a read returned flipped bits: opening the store on it must fail. */
  flipped = false;

  constructor(
    private readonly disk: SimLogDisk,
    private readonly inc: Incarnation,
    flipOnRead: boolean,
    private readonly rng: SeededRandom,
    private readonly reseal: boolean,
  ) {
    this.flipPending = flipOnRead;
  }

  /** A read returns flipped bits once, in a random record (the checksums must catch it). */
  private maybeFlip(key: Buffer, value: Buffer): Buffer {
    const header = this.reseal ? 5 : 0;
    if (!this.flipPending || value.length <= header || !this.rng.chance(0.3)) return value;
    this.flipPending = false;
    this.flipped = true;
    const copy = Buffer.from(value);
    const bit = header * 8 + this.rng.int((copy.length - header) * 8);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    // The record layout of src/storage/log-codec.ts: [crc32c(key, body)][version][body].
    if (this.reseal) copy.writeUInt32BE(crc32c(copy.subarray(4), crc32c(key)), 0);
    return copy;
  }

  getMany(keys: Buffer[]): Promise<(Buffer | undefined)[]> {
    return this.inc.guard(async () =>
      keys.map((k) => {
        const v = this.disk.read(k.toString('hex'));
        return v === undefined ? undefined : this.maybeFlip(k, v);
      }),
    );
  }

  iterator(range: { gte: Buffer; lt: Buffer }): { nextv(size: number): Promise<[Buffer, Buffer][]>; close(): Promise<void> } {
    const rows = this.disk.sortedRange(range.gte.toString('hex'), range.lt.toString('hex'));
    let pos = 0;
    return {
      nextv: (size) =>
        this.inc.guard(async () => {
          const out = rows.slice(pos, pos + size).map(([k, v]): [Buffer, Buffer] => {
            const key = Buffer.from(k, 'hex');
            return [key, this.maybeFlip(key, v)];
          });
          pos += out.length;
          return out;
        }),
      close: async () => undefined,
    };
  }

  batch(ops: LogBatchOp[], opts: { sync: boolean }): Promise<void> {
    return this.inc.guard(
      () =>
        new Promise<void>((resolve, reject) => {
          const { latencyMs, fails } = this.disk.startWrite(ops);
          this.inc.later(latencyMs, () => {
            // A failed write stays in flight: whether it landed is decided when the process dies.
            if (fails) return reject(new SimulatedWriteError('EIO: simulated write failure'));
            this.disk.completeWrite(ops, opts.sync);
            resolve();
          });
        }),
    );
  }

  async close(): Promise<void> {}
}

interface SnapshotFile {
  readonly meta: SnapshotMeta;
  readonly data: Buffer;
}

/** Snapshot files of one node; a commit is durable when it resolves (write, fsync, rename). */
export class SimSnapshotDisk {
  private readonly files = new Map<string, SnapshotFile>();
  private latestId: string | null = null;

  /** The id the raft log's meta names: never pruned (as FileSnapshotStore's `pinned`). */
  pinned: () => string | null = () => null;

  /** The SnapshotStore port for one incarnation. */
  store(inc: Incarnation): SnapshotStore {
    return {
      latest: () => {
        const f = this.latestId === null ? undefined : this.files.get(this.latestId);
        return f ? { meta: f.meta, sizeBytes: f.data.length } : null;
      },
      create: (meta) => inc.guard(async () => this.writer(inc, meta)),
      open: (id) =>
        inc.guard(async () => {
          const f = this.files.get(id);
          if (!f) throw new Error(`no snapshot ${id}`);
          return chunksOf(f.data, 4096);
        }),
    };
  }

  private writer(inc: Incarnation, meta: SnapshotMeta): SnapshotWriter {
    const chunks: Buffer[] = [];
    return {
      write: (chunk) => inc.guard(async () => void chunks.push(Buffer.from(chunk))),
      commit: () => inc.guard(async () => this.publish({ meta, data: Buffer.concat(chunks) })),
      abort: async () => undefined,
    };
  }

  private publish(f: SnapshotFile): void {
    const id = snapshotId(f.meta.index, f.meta.term);
    this.files.set(id, f);
    const latest = this.latestId === null ? undefined : this.files.get(this.latestId);
    if (!latest || f.meta.index >= latest.meta.index) this.latestId = id;
    // Keep the two newest and the pinned one, as FileSnapshotStore does by default.
    const ids = [...this.files.values()].sort((a, b) => b.meta.index - a.meta.index).map((x) => snapshotId(x.meta.index, x.meta.term));
    const pinned = this.pinned();
    for (const old of ids.slice(2)) if (old !== this.latestId && old !== pinned) this.files.delete(old);
  }
}

async function* chunksOf(data: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

/** The address book: written atomically (durable once set resolves). */
export class SimPeerBook {
  private readonly addrs = new Map<NodeId, string>();

  book(inc: Incarnation): PeerBook {
    return {
      get: (id) => this.addrs.get(id),
      entries: () => [...this.addrs.entries()],
      set: (id, addr) => inc.guard(async () => void this.addrs.set(id, addr)),
      delete: (id) => inc.guard(async () => void this.addrs.delete(id)),
    };
  }
}
