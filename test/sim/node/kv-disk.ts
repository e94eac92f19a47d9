import { MemoryLevel } from 'memory-level';
import type { SeededRandom } from '../../../src/common/random.js';
import type { Db, DbOp } from '../../../src/kv/db.js';
import type { KvDisk } from '../../../src/kv/disk.js';
import type { Incarnation } from './scheduler.js';

/** Keys as latin1 strings (one char per byte, reversible). */
type Image = Map<string, Buffer>;

const FIRST_DB = 'db-1';
/** A write takes up to this many virtual ms (KvStore's applies then overlap raft work, as on a real disk). */
const WRITE_LATENCY_MS_MAX = 2;

function applyOps(image: Image, ops: readonly DbOp[]): void {
  for (const op of ops) {
    const k = op.key.toString('latin1');
    if (op.type === 'put') image.set(k, op.value);
    else image.delete(k);
  }
}

/** memory-level's write hooks (implementation methods abstract-level calls; not in its types). */
interface LevelInternals {
  _put(key: Buffer, value: Buffer, options: object): Promise<void>;
  _del(key: Buffer, options: object): Promise<void>;
  _batch(ops: DbOp[], options: object): Promise<void>;
  _clear(options: object): Promise<void>;
}
const base = MemoryLevel.prototype as unknown as LevelInternals;

/**
 * An in-memory LevelDB for one incarnation: every completed write is reported to its image (so a
 * crash can keep a prefix of them) after a small virtual delay; a dead process's writes never land.
 */
class SimLevel extends MemoryLevel<Buffer, Buffer> {
  constructor(
    readonly location: string,
    private readonly image: DbImage,
    private readonly inc: Incarnation,
    private readonly latencyMs: () => number,
  ) {
    super({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
  }

  /** Nothing to reclaim in memory (Defragment on the simulated disk). */
  compactRange(): Promise<void> {
    return Promise.resolve();
  }

  private async written(ops: DbOp[], write: () => Promise<void>): Promise<void> {
    await new Promise<void>((resolve) => this.inc.later(this.latencyMs(), resolve));
    await write();
    if (this.image.live === this && this.inc.alive) this.image.record(ops);
  }

  async _put(key: Buffer, value: Buffer, options: object): Promise<void> {
    await this.written([{ type: 'put', key, value }], () => base._put.call(this, key, value, options));
  }

  async _del(key: Buffer, options: object): Promise<void> {
    await this.written([{ type: 'del', key }], () => base._del.call(this, key, options));
  }

  async _batch(ops: DbOp[], options: object): Promise<void> {
    await this.written(ops, () => base._batch.call(this, ops, options));
  }

  _clear(): Promise<void> {
    return Promise.reject(new Error('clear() is not modelled by the simulated kv disk'));
  }
}

/**
 * One database on the simulated disk, as LevelDB without sync keeps it: writes reach the page cache
 * (`current`) and are written back now and then (`durable`); a crash keeps the durable image plus a
 * prefix of the later writes, each whole (LevelDB drops a torn tail record of its write-ahead log).
 */
class DbImage {
  durable: Image = new Map();
  /** Writes since the last write-back, in order (buffers are not copied: the store never reuses them). */
  pending: DbOp[][] = [];
  live: SimLevel | null = null;

  constructor(
    private readonly disk: SimKvDisk,
    private readonly rng: SeededRandom,
  ) {}

  /** What a reopened database holds: the durable image and every later write. */
  current(): Image {
    if (this.pending.length === 0) return this.durable;
    const image = new Map(this.durable);
    for (const ops of this.pending) applyOps(image, ops);
    return image;
  }

  record(ops: DbOp[]): void {
    this.pending.push(ops);
    this.disk.writes++;
    // The page cache is written back now and then: older writes become durable.
    if (this.pending.length > 4 + this.rng.int(16)) this.sync();
  }

  sync(): void {
    for (const ops of this.pending) applyOps(this.durable, ops);
    this.pending = [];
  }

  crash(): void {
    const kept = this.rng.int(this.pending.length + 1);
    for (const ops of this.pending.slice(0, kept)) applyOps(this.durable, ops);
    this.disk.lostWrites += this.pending.length - kept;
    this.pending = [];
    this.live = null;
  }
}

/**
 * The simulated disk under one node's KV store (it survives the node's crashes): named databases
 * and a durable pointer to the active one, behind the production KvDisk port, so KvStore runs
 * unchanged on it. Only a restore syncs (seal, activate), as in production.
 */
export class SimKvDisk {
  private pointer: string | null = null;
  private readonly images = new Map<string, DbImage>();
  writes = 0;
  lostWrites = 0;

  constructor(
    readonly name: string,
    private readonly rng: SeededRandom,
  ) {}

  /** The process died: each database keeps its durable image and a prefix of its later writes. */
  crash(): void {
    for (const image of this.images.values()) image.crash();
  }

  /** The KvDisk port for one incarnation. */
  port(inc: Incarnation): KvDisk {
    return {
      location: this.name,
      prepare: () => inc.guard(async () => this.prepare()),
      open: (name) => inc.guard(() => this.open(inc, name)),
      seal: (name) => inc.guard(async () => this.images.get(name)?.sync()),
      activate: (name) => inc.guard(async () => void (this.pointer = name)),
      remove: (name) => inc.guard(async () => void this.images.delete(name)),
    };
  }

  private prepare(): string {
    this.pointer ??= FIRST_DB;
    for (const name of [...this.images.keys()]) if (name !== this.pointer) this.images.delete(name);
    return this.pointer;
  }

  private async open(inc: Incarnation, name: string): Promise<Db> {
    let image = this.images.get(name);
    if (image === undefined) {
      image = new DbImage(this, this.rng.fork());
      this.images.set(name, image);
    }
    const level = new SimLevel(`${this.name}/${name}`, image, inc, () => this.rng.int(WRITE_LATENCY_MS_MAX + 1));
    await level.open();
    // Load what the disk holds before the level reports writes (it is not live yet).
    const load: DbOp[] = [...image.current()].map(([k, value]) => ({ type: 'put', key: Buffer.from(k, 'latin1'), value }));
    if (load.length > 0) await base._batch.call(level, load, {});
    image.live = level;
    return level;
  }
}
