import { Readable, addAbortSignal, pipeline, type Duplex } from 'node:stream';
import { constants, createGunzip, createGzip } from 'node:zlib';
import { AbortedError, CorruptionError } from '../common/errors.js';

/**
 * A kv snapshot is a gzip stream of: the magic "RKVSNAP2" ("RKVSNAP1" before the multi-version
 * keyspace; still read, and its db is upgraded at restore like a format-1 db at open), then one record per db entry
 * (u32 key length, u32 value length, key, value; big-endian), then an end marker (u32 0xffffffff,
 * u32 record count). The db entries include the metadata (applied index, revision) and the dedupe
 * table, and version 2 adds every kept version, the revisions' change records and the compacted
 * revision (src/kv/keys.ts), so restoring the records restores the whole state. gzip's CRC guards the bytes; the end
 * marker and count guard against truncation.
 */
const MAGIC = Buffer.from('RKVSNAP2', 'latin1');
const MAGIC_LATEST_ONLY = Buffer.from('RKVSNAP1', 'latin1');
const END_MARKER = 0xffffffff;
/** Records are gathered into chunks of about this size before compression. */
const CHUNK_BYTES = 64 * 1024;

/**
 * The gzip codec of the snapshot stream. Production uses node:zlib, which compresses on libuv's
 * thread pool; the whole-node simulation supplies a synchronous one so that a seed replays
 * identically (the bytes are gzip either way).
 */
export interface SnapshotCompression {
  gzip(): Duplex;
  gunzip(): Duplex;
}

export const zlibCompression: SnapshotCompression = {
  gzip: () => createGzip({ level: constants.Z_BEST_SPEED }),
  gunzip: () => createGunzip(),
};

export function encodeSnapshot(entries: AsyncIterable<[Buffer, Buffer]>, compression: SnapshotCompression = zlibCompression): Readable {
  const gzip = compression.gzip();
  pipeline(Readable.from(frames(entries)), gzip, () => {
    // Errors reach the consumer through `gzip`, which pipeline destroys with them.
  });
  return gzip;
}

async function* frames(entries: AsyncIterable<[Buffer, Buffer]>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [MAGIC];
  let size = MAGIC.length;
  let count = 0;
  for await (const [key, value] of entries) {
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32BE(key.length, 0);
    head.writeUInt32BE(value.length, 4);
    parts.push(head, key, value);
    size += 8 + key.length + value.length;
    count++;
    if (size >= CHUNK_BYTES) {
      yield Buffer.concat(parts);
      parts = [];
      size = 0;
    }
  }
  const end = Buffer.allocUnsafe(8);
  end.writeUInt32BE(END_MARKER, 0);
  end.writeUInt32BE(count, 4);
  parts.push(end);
  yield Buffer.concat(parts);
}

/** Parses a snapshot stream into db entries; throws CorruptionError on any malformation. */
export async function* decodeSnapshot(
  input: NodeJS.ReadableStream,
  recordBytesMax: number,
  signal?: AbortSignal,
  compression: SnapshotCompression = zlibCompression,
): AsyncGenerator<[Buffer, Buffer]> {
  const gunzip = compression.gunzip();
  // A stalled input must not hold the restore forever: abort destroys the stream we are reading.
  if (signal !== undefined) addAbortSignal(signal, gunzip);
  const source = pipeline(input as Readable, gunzip, () => {});
  const reader = new ChunkReader();
  let state: 'magic' | 'head' | 'body' | 'done' = 'magic';
  let keyLength = 0, valueLength = 0, count = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (signal?.aborted === true) throw new AbortedError('snapshot restore aborted');
      if (state === 'done') throw new CorruptionError('snapshot has bytes after its end marker');
      reader.push(chunk);
      while (true) {
        if (state === 'magic') {
          const magic = reader.take(MAGIC.length);
          if (magic === null) break;
          if (!magic.equals(MAGIC) && !magic.equals(MAGIC_LATEST_ONLY)) throw new CorruptionError('not a raftkv kv snapshot (bad magic)');
          state = 'head';
        } else if (state === 'head') {
          const head = reader.take(8);
          if (head === null) break;
          keyLength = head.readUInt32BE(0);
          valueLength = head.readUInt32BE(4);
          if (keyLength === END_MARKER) {
            if (valueLength !== count) throw new CorruptionError(`snapshot end marker says ${valueLength} records, read ${count}`);
            state = 'done';
            if (reader.length > 0) throw new CorruptionError('snapshot has bytes after its end marker');
            break;
          }
          if (keyLength + valueLength > recordBytesMax) {
            throw new CorruptionError(`snapshot record of ${keyLength + valueLength} bytes exceeds ${recordBytesMax}`);
          }
          state = 'body';
        } else if (state === 'body') {
          const body = reader.take(keyLength + valueLength);
          if (body === null) break;
          count++;
          state = 'head';
          yield [body.subarray(0, keyLength), body.subarray(keyLength)];
        } else break;
      }
    }
  } catch (e) {
    if (signal?.aborted === true) throw new AbortedError('snapshot restore aborted', { cause: e });
    if (e instanceof AbortedError || e instanceof CorruptionError) throw e;
    throw new CorruptionError(`snapshot stream failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    gunzip.destroy();
  }
  if (state !== 'done') throw new CorruptionError('snapshot is truncated (no end marker)');
}

/** Accumulates chunks and hands out exact-length slices without quadratic copying. */
class ChunkReader {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  take(n: number): Buffer | null {
    if (this.length < n) return null;
    this.length -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return Buffer.from(first.subarray(0, n));
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      if (c === undefined) break;
      const use = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, use);
      filled += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    return out;
  }
}
