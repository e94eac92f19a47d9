import type { Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Message, NodeId } from '../../raft/types.js';
import { MSG_SNAP } from './message-types.js';
import { raceAbort } from './abort.js';
import { decodeMessage } from './codec.js';
import { decodeSnapshotEnd, encodeSnapshotAck } from './control-codec.js';
import { FrameError, FrameErrorReason, SnapshotTransferError } from './errors.js';
import { encodeFrame, type Frame, FrameKind } from './frame.js';
import type { InboundContext } from './context.js';
import type { SnapshotSink } from './types.js';

type ReceiveState = 'begin' | 'chunks' | 'done' | 'failed';

/**
 * Receives one snapshot stream: SnapshotBegin (the Snap message), chunks into the node's sink, then
 * SnapshotEnd whose length and CRC-32 must match. Only after the sink finished is the Snap message
 * delivered and the sender acknowledged; on any failure the sink is aborted and nothing is delivered.
 */
export class SnapshotReceiver {
  private state: ReceiveState = 'begin';
  private message: Message | null = null;
  private sink: SnapshotSink | null = null;
  private receivedBytes = 0;
  private crc = 0;
  private holdsSlot = false;
  private readonly abort = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly ctx: InboundContext,
    private readonly peerId: NodeId,
    private readonly socket: Socket,
  ) {
    this.signal = AbortSignal.any([this.abort.signal, ctx.closing]);
  }

  async handle(frame: Frame): Promise<void> {
    try {
      if (this.state === 'begin') await this.begin(frame);
      else if (this.state === 'chunks' && frame.kind === FrameKind.SnapshotChunk) await this.chunk(frame.payload);
      else if (this.state === 'chunks' && frame.kind === FrameKind.SnapshotEnd) await this.end(frame.payload);
      else throw new FrameError(FrameErrorReason.Unexpected, `kind ${frame.kind} in snapshot state ${this.state}`);
    } catch (e) {
      await this.fail(e);
      throw e;
    }
  }

  private async begin(frame: Frame): Promise<void> {
    const m = decodeMessage(frame.payload);
    if (m.type !== MSG_SNAP || m.snapshot === null || m.from !== this.peerId || m.to !== this.ctx.localId) {
      throw new FrameError(FrameErrorReason.Unexpected, 'SnapshotBegin must carry a Snap message from the peer to us');
    }
    const createSink = this.ctx.createSnapshotSink;
    if (createSink === undefined) throw new SnapshotTransferError('this node accepts no snapshots (no createSnapshotSink)');
    if (!this.ctx.acquireSnapshotSlot()) throw new SnapshotTransferError('too many concurrent incoming snapshots');
    this.holdsSlot = true;
    this.message = m;
    const pending = createSink(m.snapshot.meta, this.peerId, this.signal);
    try {
      this.sink = await raceAbort(pending, this.signal);
    } catch (e) {
      // Aborted while the sink was being created: it still has to be cleaned up when it arrives.
      pending.then((sink) => sink.abort(e), () => undefined).catch(() => undefined);
      throw e;
    }
    this.state = 'chunks';
  }

  private async chunk(data: Uint8Array): Promise<void> {
    this.crc = crc32(data, this.crc);
    this.receivedBytes += data.byteLength;
    this.ctx.counters.add('snapshotBytesReceived', data.byteLength);
    await raceAbort((this.sink as SnapshotSink).write(data), this.signal);
  }

  private async end(payload: Uint8Array): Promise<void> {
    const end = decodeSnapshotEnd(payload);
    if (end.totalBytes !== this.receivedBytes || end.crc32 !== this.crc) {
      throw new FrameError(FrameErrorReason.BadValue, `snapshot of ${this.receivedBytes} bytes crc ${this.crc}, sender says ${end.totalBytes} crc ${end.crc32}`);
    }
    await raceAbort((this.sink as SnapshotSink).finish(), this.signal);
    this.state = 'done';
    this.releaseSlot();
    this.ctx.counters.add('snapshotsReceived');
    this.ctx.deliver(this.message as Message);
    this.socket.write(encodeFrame(FrameKind.SnapshotAck, encodeSnapshotAck(true), this.ctx.limits.frameBytesMax));
  }

  /** Idempotent; never throws. */
  async fail(reason: unknown): Promise<void> {
    if (this.state === 'done' || this.state === 'failed') return;
    this.state = 'failed';
    this.abort.abort(reason);
    this.ctx.counters.add('snapshotReceiveFailures');
    this.releaseSlot();
    if (!this.socket.destroyed) {
      this.socket.write(encodeFrame(FrameKind.SnapshotAck, encodeSnapshotAck(false), this.ctx.limits.frameBytesMax));
    }
    try {
      await this.sink?.abort(reason);
    } catch {
      // The sink failing to clean up must not take the connection handler down with it.
    }
  }

  private releaseSlot(): void {
    if (this.holdsSlot) this.ctx.releaseSnapshotSlot();
    this.holdsSlot = false;
  }
}
