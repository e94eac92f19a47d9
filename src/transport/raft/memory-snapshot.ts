import type { Message, Snapshot } from '../../raft/types.js';
import { raceAbort } from './abort.js';
import { SnapshotTransferError } from './errors.js';
import type { TransportLimits } from './limits.js';
import type { TransportHandlers } from './types.js';

/** The snapshot's bytes: inline data when the message carries it, else the node's provider. */
export async function* snapshotSource(
  snapshot: Snapshot,
  openSnapshot: TransportHandlers['openSnapshot'],
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  if (snapshot.data.byteLength > 0) yield snapshot.data;
  else if (openSnapshot !== undefined) yield* openSnapshot(snapshot.meta, signal);
}

/**
 * The receiving half of an in-memory snapshot stream: chunks of at most `snapshotChunkBytes` into the
 * node's sink, checking the link before each one (a partition mid-stream fails it), then finish, and
 * only then the message. Without a sink the data is delivered inline, up to `frameBytesMax`, which
 * suits simulations whose nodes keep snapshots in memory.
 */
export async function receiveMemorySnapshot(
  header: Message,
  source: AsyncIterable<Uint8Array>,
  linkUp: () => boolean,
  signal: AbortSignal,
  limits: TransportLimits,
  createSink: TransportHandlers['createSnapshotSink'],
): Promise<{ message: Message; bytes: number }> {
  const meta = header.snapshot?.meta;
  if (meta === undefined) throw new SnapshotTransferError('Snap message without a snapshot');
  const chunks = rechunk(source, limits.snapshotChunkBytes);
  if (createSink === undefined) {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of chunks) {
      if (!linkUp()) throw new SnapshotTransferError('link cut mid-stream');
      bytes += chunk.byteLength;
      if (bytes > limits.frameBytesMax) throw new SnapshotTransferError(`inline snapshot over ${limits.frameBytesMax} bytes and no sink`);
      parts.push(chunk.slice());
    }
    return { message: { ...header, snapshot: { meta, data: Buffer.concat(parts) } }, bytes };
  }
  const sink = await raceAbort(createSink(meta, header.from, signal), signal);
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      signal.throwIfAborted();
      if (!linkUp()) throw new SnapshotTransferError('link cut mid-stream');
      bytes += chunk.byteLength;
      await raceAbort(sink.write(chunk.slice()), signal);
    }
    await raceAbort(sink.finish(), signal);
  } catch (e) {
    await sink.abort(e).catch(() => undefined);
    throw e;
  }
  return { message: header, bytes };
}

async function* rechunk(source: AsyncIterable<Uint8Array>, chunkBytes: number): AsyncIterable<Uint8Array> {
  for await (const piece of source) {
    for (let off = 0; off < piece.byteLength; off += chunkBytes) yield piece.subarray(off, off + chunkBytes);
  }
}
