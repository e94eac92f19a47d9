import { Transform, type TransformCallback } from 'node:stream';
import { Gunzip, Gzip } from 'fflate';
import type { SnapshotCompression } from '../../../src/kv/snapshot-format.js';

/**
 * gzip for the simulation's snapshot streams, computed synchronously in JavaScript (fflate): the
 * bytes are gzip as with node:zlib, but no work leaves the event loop for libuv's thread pool, whose
 * timing would make a seed's replay differ.
 */
function transform(make: (emit: (chunk: Uint8Array) => void) => { push(chunk: Uint8Array, final?: boolean): void }): Transform {
  let codec: ReturnType<typeof make> | null = null;
  return new Transform({
    transform(this: Transform, chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      codec ??= make((out) => this.push(Buffer.from(out)));
      try {
        codec.push(chunk, false);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(this: Transform, done: TransformCallback) {
      codec ??= make((out) => this.push(Buffer.from(out)));
      try {
        codec.push(new Uint8Array(0), true);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}

/**
 * Level 0 (stored blocks): the stream is still gzip, framed and checksummed, which is all the
 * snapshot code sees; compressing harder only spends the simulation's time.
 */
export const syncGzip: SnapshotCompression = {
  gzip: () => transform((emit) => new Gzip({ level: 0 }, (chunk) => emit(chunk))),
  gunzip: () => transform((emit) => new Gunzip((chunk) => emit(chunk))),
};
