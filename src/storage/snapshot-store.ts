/**
 * FileSnapshotStore: snapshot files of one node in `<data_dir>/<node_id>/snapshots/`.
 *
 * Each snapshot is a data file plus a checksummed metadata sidecar (snapshot-meta.ts), both written
 * to temp names, fsynced and renamed, with the directory fsynced. `open()` removes what a crash can
 * leave behind (temp files, data without a sidecar) and verifies every remaining snapshot's data
 * against its checksum; one that does not verify is ignored and reported, never served. After each
 * commit only the newest `retainCount` snapshots are kept.
 */
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import { CorruptionError, OverloadedError } from '../common/errors.js';
import type { SnapshotMeta } from '../raft/types.js';
import { fsyncDir, isTempName, throwIfAborted } from './atomic-file.js';
import { crc32c } from './crc32c.js';
import { SnapshotExistsError, SnapshotNotFoundError } from './errors.js';
import { DATA_SUFFIX, decodeSidecar, META_SUFFIX, parseSnapshotId, snapshotId, type SnapshotInfo } from './snapshot-meta.js';
import { FileSnapshotSink, type SnapshotSink } from './snapshot-sink.js';

export type { SnapshotInfo } from './snapshot-meta.js';
export type { SnapshotSink } from './snapshot-sink.js';

export const SNAPSHOT_RETAIN_COUNT_DEFAULT = 2;
/** Snapshots being written at once (one local, a few received); more is rejected. */
export const SNAPSHOT_SINKS_MAX = 4;
/** Issues remembered for `issues()`; older ones are dropped (onIssue saw them all). */
export const SNAPSHOT_ISSUES_MAX = 64;
export const SNAPSHOT_READ_CHUNK_BYTES = 256 * 1024;
/** A sidecar is a few hundred bytes; anything much larger is not one of ours. */
const SIDECAR_BYTES_MAX = 1024 * 1024;

/** Something found wrong in the directory, and what was done about it. */
export interface SnapshotIssue {
  readonly file: string;
  readonly reason: string;
}

export interface SnapshotStoreOptions {
  readonly signal?: AbortSignal | undefined;
  /** Committed snapshots to keep, newest first. Default 2, minimum 1. */
  readonly retainCount?: number | undefined;
  /** Told of every issue: leftovers removed, snapshots ignored, deletions that failed. */
  readonly onIssue?: ((issue: SnapshotIssue) => void) | undefined;
  /**
   * The id of the snapshot the raft log's meta names (null: none): never pruned, however many newer
   * ones were committed, because a restart restores the state machine from exactly that one. (Newer
   * snapshots arrive from the leader before the log records their install.)
   */
  readonly pinned?: (() => string | null) | undefined;
}

export class FileSnapshotStore {
  private readonly valid = new Map<string, SnapshotInfo>();
  /** Snapshots that failed verification: ignored, deleted by the next prune. */
  private readonly bad = new Set<string>();
  private readonly writing = new Set<string>();
  private readonly issueLog: SnapshotIssue[] = [];
  private publishChain: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly retainCount: number,
    private readonly onIssue: ((issue: SnapshotIssue) => void) | undefined,
    private readonly pinned: () => string | null,
  ) {}

  /** Open (creating) the directory, clean crash leftovers and verify every snapshot in it. */
  static async open(dir: string, opts: SnapshotStoreOptions = {}): Promise<FileSnapshotStore> {
    const store = new FileSnapshotStore(dir, Math.max(1, opts.retainCount ?? SNAPSHOT_RETAIN_COUNT_DEFAULT), opts.onIssue, opts.pinned ?? (() => null));
    await mkdir(dir, { recursive: true });
    await store.scan(opts.signal);
    return store;
  }

  /** The newest committed snapshot that verified, or null. */
  latest(): SnapshotInfo | null {
    return this.list()[0] ?? null;
  }

  /** Committed snapshots that verified, newest (highest index, then term) first. */
  list(): SnapshotInfo[] {
    return [...this.valid.values()].sort((a, b) => b.meta.index - a.meta.index || b.meta.term - a.meta.term);
  }

  /** The most recent issues found (at most SNAPSHOT_ISSUES_MAX). */
  issues(): readonly SnapshotIssue[] {
    return this.issueLog;
  }

  /**
   * Start writing the snapshot `meta` describes. Throws SnapshotExistsError if it is committed or
   * being written already, OverloadedError beyond SNAPSHOT_SINKS_MAX concurrent sinks. If `signal`
   * fires, the sink aborts (its temp file is removed) and later writes reject with AbortedError.
   */
  async create(meta: SnapshotMeta, opts: { signal?: AbortSignal | undefined } = {}): Promise<SnapshotSink> {
    const id = snapshotId(meta.index, meta.term);
    throwIfAborted(opts.signal, `creating snapshot ${id}`);
    if (this.valid.has(id) || this.writing.has(id)) throw new SnapshotExistsError(id, this.dir);
    if (this.writing.size >= SNAPSHOT_SINKS_MAX) throw new OverloadedError('snapshot writers', SNAPSHOT_SINKS_MAX);
    this.writing.add(id);
    const hooks = { publish: (info: SnapshotInfo) => this.publish(info), release: () => this.writing.delete(id) };
    return FileSnapshotSink.create(this.dir, meta, hooks, opts.signal);
  }

  /**
   * A readable byte stream of snapshot `id`'s data. The data is re-verified while it streams: the
   * stream errors with CorruptionError at the end if size or checksum differ. The file stays readable
   * even if retention deletes it meanwhile. Throws SnapshotNotFoundError for an unknown id.
   */
  async open(id: string, opts: { signal?: AbortSignal | undefined } = {}): Promise<Readable> {
    const info = this.valid.get(id);
    if (!info) throw new SnapshotNotFoundError(id, this.dir);
    throwIfAborted(opts.signal, `reading snapshot ${id}`);
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, id + DATA_SUFFIX), 'r');
    } catch {
      throw new SnapshotNotFoundError(id, this.dir);
    }
    const file = join(this.dir, id + DATA_SUFFIX);
    const stream = Readable.from(verifiedChunks(handle, info, file), { objectMode: false, highWaterMark: SNAPSHOT_READ_CHUNK_BYTES });
    return opts.signal ? addAbortSignal(opts.signal, stream) : stream;
  }

  // ---- internals ----

  private async scan(signal: AbortSignal | undefined): Promise<void> {
    const names = await readdir(this.dir);
    let removed = false;
    for (const name of names.filter(isTempName)) {
      removed = (await this.remove(name, 'leftover temp file of an interrupted write; removed')) || removed;
    }
    const dataIds = idsWithSuffix(names, DATA_SUFFIX);
    const metaIds = idsWithSuffix(names, META_SUFFIX);
    for (const id of dataIds) {
      if (metaIds.has(id)) continue;
      removed = (await this.remove(id + DATA_SUFFIX, 'data without metadata (an interrupted commit); removed')) || removed;
    }
    if (removed) await fsyncDir(this.dir);
    for (const id of metaIds) {
      throwIfAborted(signal, `opening snapshot store ${this.dir}`);
      const result = await this.verify(id, signal);
      if (typeof result === 'string') {
        this.bad.add(id);
        this.report(id + META_SUFFIX, `snapshot ${id} ignored: ${result}`);
      } else {
        this.valid.set(id, result);
      }
    }
  }

  /** The verified snapshot, or why it is not valid. */
  private async verify(id: string, signal: AbortSignal | undefined): Promise<SnapshotInfo | string> {
    if (!parseSnapshotId(id)) return 'not a snapshot name';
    const metaPath = join(this.dir, id + META_SUFFIX);
    if ((await stat(metaPath)).size > SIDECAR_BYTES_MAX) return 'metadata file is too large';
    const decoded = decodeSidecar(id, await readFile(metaPath, 'utf8'));
    if ('invalid' in decoded) return decoded.invalid;
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, id + DATA_SUFFIX), 'r');
    } catch {
      return 'data file is missing';
    }
    let actual: { crc: number; sizeBytes: number };
    try {
      actual = await checksumFile(handle, signal);
    } finally {
      await handle.close();
    }
    if (actual.sizeBytes !== decoded.sizeBytes) return `data is ${actual.sizeBytes} bytes, metadata says ${decoded.sizeBytes}`;
    if (actual.crc !== decoded.crc32c) return `data checksum mismatch (metadata ${decoded.crc32c}, data ${actual.crc})`;
    return decoded;
  }

  /** A sink committed: record it, then prune. Serialized so concurrent commits prune consistently. */
  private publish(info: SnapshotInfo): Promise<void> {
    const run = this.publishChain.then(async () => {
      this.valid.set(info.id, info);
      this.bad.delete(info.id);
      await this.prune();
    });
    this.publishChain = run.catch(() => undefined);
    return run;
  }

  /** Delete every snapshot but the newest `retainCount` valid ones and the pinned one (known-bad ones included). */
  private async prune(): Promise<void> {
    const pinned = this.pinned();
    const older = this.list()
      .slice(this.retainCount)
      .map((i) => i.id)
      .filter((id) => id !== pinned);
    const drop = [...older, ...[...this.bad].filter((id) => !this.writing.has(id))];
    if (drop.length === 0) return;
    for (const id of drop) {
      this.valid.delete(id);
      this.bad.delete(id);
      // The sidecar goes first: without it the data is an uncommitted leftover.
      await this.remove(id + META_SUFFIX, null);
      await this.remove(id + DATA_SUFFIX, null);
    }
    await fsyncDir(this.dir).catch((err: unknown) => this.report(this.dir, `fsync after pruning failed: ${String(err)}`));
  }

  /** Unlink `name`, reporting `reason` (if any) or a failure. Returns whether it was removed. */
  private async remove(name: string, reason: string | null): Promise<boolean> {
    try {
      await unlink(join(this.dir, name));
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') this.report(name, `could not delete: ${String(err)}`);
      return false;
    }
    if (reason !== null) this.report(name, reason);
    return true;
  }

  private report(file: string, reason: string): void {
    const issue = { file: join(this.dir, file), reason };
    this.issueLog.push(issue);
    if (this.issueLog.length > SNAPSHOT_ISSUES_MAX) this.issueLog.shift();
    this.onIssue?.(issue);
  }
}

function idsWithSuffix(names: readonly string[], suffix: string): Set<string> {
  return new Set(names.filter((n) => n.endsWith(suffix)).map((n) => n.slice(0, -suffix.length)));
}

async function checksumFile(handle: FileHandle, signal: AbortSignal | undefined): Promise<{ crc: number; sizeBytes: number }> {
  const buf = Buffer.allocUnsafe(SNAPSHOT_READ_CHUNK_BYTES);
  let crc = 0;
  let sizeBytes = 0;
  while (true) {
    throwIfAborted(signal, 'verifying a snapshot');
    const { bytesRead } = await handle.read(buf, 0, buf.length, null);
    if (bytesRead === 0) return { crc, sizeBytes };
    crc = crc32c(buf.subarray(0, bytesRead), crc);
    sizeBytes += bytesRead;
  }
}

async function* verifiedChunks(handle: FileHandle, info: SnapshotInfo, file: string): AsyncGenerator<Buffer> {
  let crc = 0;
  let sizeBytes = 0;
  try {
    while (true) {
      const buf = Buffer.allocUnsafe(SNAPSHOT_READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      crc = crc32c(chunk, crc);
      sizeBytes += bytesRead;
      yield chunk;
    }
    if (sizeBytes !== info.sizeBytes || crc !== info.crc32c) {
      throw new CorruptionError(`snapshot file ${file} changed since it was verified: ${sizeBytes} bytes, checksum ${crc}`);
    }
  } finally {
    await handle.close();
  }
}
