/**
 * The writable side of a snapshot: chunks go to a temp file while their size and CRC-32C are
 * tracked; `commit()` makes the data durable under its final name and then writes the sidecar that
 * marks the snapshot committed (see snapshot-meta.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../common/assert.js';
import { AbortedError } from '../common/errors.js';
import type { SnapshotMeta } from '../raft/types.js';
import { fsyncDir, tempPathFor, writeFileAtomic } from './atomic-file.js';
import { crc32c } from './crc32c.js';
import { DATA_SUFFIX, encodeSidecar, META_SUFFIX, snapshotId, type SnapshotInfo } from './snapshot-meta.js';

export interface SnapshotSink {
  /** The id the snapshot will have once committed. */
  readonly id: string;
  /** Append a chunk. Await each write before starting the next. */
  write(chunk: Uint8Array): Promise<void>;
  /** Make the data durable and visible; returns it as `latest()`/`list()` will show it. */
  commit(): Promise<SnapshotInfo>;
  /** Discard what was written. Idempotent; safe after a failed write or commit. */
  abort(): Promise<void>;
}

type SinkState = 'open' | 'busy' | 'committed' | 'aborted';

/** Callbacks into the store: `publish` runs after the files are durable; `release` always runs once. */
export interface SinkHooks {
  publish(info: SnapshotInfo): Promise<void>;
  release(): void;
}

export class FileSnapshotSink implements SnapshotSink {
  readonly id: string;
  private state: SinkState = 'open';
  private sizeBytes = 0;
  private crc = 0;
  /** The data file has its final name (commit got past the rename). */
  private renamed = false;
  private aborting: Promise<void> | null = null;
  private readonly onAbortSignal = (): void => {
    if (this.state === 'open') void this.abort();
  };

  private constructor(
    private readonly dir: string,
    private readonly meta: SnapshotMeta,
    private readonly handle: FileHandle,
    private readonly tempPath: string,
    private readonly hooks: SinkHooks,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.id = snapshotId(meta.index, meta.term);
    signal?.addEventListener('abort', this.onAbortSignal, { once: true });
  }

  static async create(dir: string, meta: SnapshotMeta, hooks: SinkHooks, signal: AbortSignal | undefined): Promise<FileSnapshotSink> {
    const tempPath = tempPathFor(join(dir, snapshotId(meta.index, meta.term) + DATA_SUFFIX));
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx');
    } catch (err) {
      hooks.release();
      throw err;
    }
    return new FileSnapshotSink(dir, meta, handle, tempPath, hooks, signal);
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.step(async () => {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await this.handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
      this.crc = crc32c(chunk, this.crc);
      this.sizeBytes += chunk.byteLength;
    });
  }

  async commit(): Promise<SnapshotInfo> {
    const info: SnapshotInfo = { id: this.id, meta: this.meta, sizeBytes: this.sizeBytes, crc32c: this.crc };
    await this.step(async () => {
      await this.handle.sync();
      await this.handle.close();
      // Data first, made durable under its final name; then the sidecar, which commits it.
      await rename(this.tempPath, this.dataPath());
      this.renamed = true;
      await fsyncDir(this.dir);
      await writeFileAtomic(join(this.dir, this.id + META_SUFFIX), encodeSidecar(info));
      this.state = 'committed';
    });
    this.finish();
    await this.hooks.publish(info);
    return info;
  }

  abort(): Promise<void> {
    if (this.state === 'committed') return Promise.resolve();
    if (this.aborting) return this.aborting;
    assert(this.state !== 'busy', 'snapshot sink aborted while a write or commit is in progress');
    this.state = 'aborted';
    this.finish();
    this.aborting = (async () => {
      await this.handle.close().catch(() => undefined);
      await unlink(this.renamed ? this.dataPath() : this.tempPath).catch(() => undefined);
    })();
    return this.aborting;
  }

  /** Run one write or commit: only from 'open', aborting the sink if it fails or the signal fired. */
  private async step(op: () => Promise<void>): Promise<void> {
    if (this.state === 'aborted') {
      await this.aborting;
      throw this.abortedError();
    }
    assert(this.state === 'open', () => `snapshot sink ${this.id} is ${this.state}`);
    this.state = 'busy';
    try {
      if (this.signal?.aborted) throw this.abortedError();
      await op();
    } catch (err) {
      this.state = 'open';
      await this.abort();
      throw err;
    }
    if (this.state === 'busy') this.state = 'open';
    if (this.signal?.aborted && this.state === 'open') {
      await this.abort();
      throw this.abortedError();
    }
  }

  private abortedError(): AbortedError {
    return new AbortedError(`snapshot ${this.id} aborted`, { cause: this.signal?.reason });
  }

  private dataPath(): string {
    return join(this.dir, this.id + DATA_SUFFIX);
  }

  private finish(): void {
    this.signal?.removeEventListener('abort', this.onAbortSignal);
    this.hooks.release();
  }
}
