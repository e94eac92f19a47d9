import { crc32 } from 'node:zlib';
import type { Message } from '../../raft/types.js';
import { parseHostPort } from './address.js';
import { encodeMessage } from './codec.js';
import type { TransportContext } from './context.js';
import { decodeHelloAck, decodeSnapshotAck, encodeHello, encodeSnapshotEnd, Lane } from './control-codec.js';
import { FrameError, FrameErrorReason, SnapshotTransferError } from './errors.js';
import { encodeFrame, FrameKind } from './frame.js';
import { FramedConnection } from './framed-connection.js';
import type { TransportHandlers } from './types.js';

export interface SnapshotSenderContext extends TransportContext {
  readonly openSnapshot: TransportHandlers['openSnapshot'];
}

/**
 * Streams one Snap message on its own connection: hello, SnapshotBegin (the message without its
 * data), chunks of at most `snapshotChunkBytes` (each awaiting socket drain: backpressure), then
 * SnapshotEnd with length and CRC-32, and waits for the receiver's SnapshotAck. Resolves when the peer
 * stored the snapshot; rejects otherwise.
 */
export async function sendSnapshot(ctx: SnapshotSenderContext, message: Message, signal: AbortSignal): Promise<void> {
  const snapshot = message.snapshot;
  if (snapshot === null) throw new SnapshotTransferError('Snap message without a snapshot');
  const address = ctx.addressOf(message.to);
  if (address === undefined) throw new SnapshotTransferError(`no address for node ${message.to}`);
  const { limits } = ctx;
  const conn = new FramedConnection(parseHostPort(address), (t, k) => ctx.dial(t, k), limits.frameBytesMax, limits.snapshotIdleTimeoutMs, signal);
  try {
    await conn.connected();
    const hello = encodeHello({ lane: Lane.Snapshot, from: ctx.localId, to: message.to, clusterId: ctx.clusterId });
    await conn.write(encodeFrame(FrameKind.Hello, hello, limits.frameBytesMax));
    const stripped: Message = { ...message, snapshot: { meta: snapshot.meta, data: new Uint8Array(0) } };
    await conn.write(encodeFrame(FrameKind.SnapshotBegin, encodeMessage(stripped), limits.frameBytesMax));
    const source = snapshot.data.byteLength > 0 ? [snapshot.data] : (ctx.openSnapshot?.(snapshot.meta, signal) ?? []);
    let totalBytes = 0;
    let crc = 0;
    for await (const piece of source) {
      for (let offset = 0; offset < piece.byteLength; offset += limits.snapshotChunkBytes) {
        const chunk = piece.subarray(offset, offset + limits.snapshotChunkBytes);
        crc = crc32(chunk, crc);
        totalBytes += chunk.byteLength;
        await conn.write(encodeFrame(FrameKind.SnapshotChunk, chunk, limits.frameBytesMax));
        ctx.counters.add('snapshotBytesSent', chunk.byteLength);
      }
    }
    await conn.write(encodeFrame(FrameKind.SnapshotEnd, encodeSnapshotEnd({ totalBytes, crc32: crc }), limits.frameBytesMax));
    await expectAck(ctx, conn, message);
  } finally {
    conn.close();
  }
}

async function expectAck(ctx: TransportContext, conn: FramedConnection, message: Message): Promise<void> {
  const helloAck = await conn.readFrame();
  if (helloAck.kind !== FrameKind.HelloAck) throw new FrameError(FrameErrorReason.Unexpected, `kind ${helloAck.kind} instead of HelloAck`);
  const ack = decodeHelloAck(helloAck.payload, ctx.limits.clusterIdBytesMax);
  if (ack.nodeId !== message.to || ack.clusterId !== ctx.clusterId) {
    throw new FrameError(FrameErrorReason.Handshake, `expected node ${message.to}, reached ${ack.nodeId}`);
  }
  const result = await conn.readFrame();
  if (result.kind !== FrameKind.SnapshotAck) throw new FrameError(FrameErrorReason.Unexpected, `kind ${result.kind} instead of SnapshotAck`);
  if (!decodeSnapshotAck(result.payload)) throw new SnapshotTransferError(`node ${message.to} refused the snapshot`);
}
