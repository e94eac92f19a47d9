import type { Socket } from 'node:net';
import type { Message, NodeId } from '../../raft/types.js';
import { decodeMessage } from './codec.js';
import type { InboundContext } from './context.js';
import { decodeHello, encodeHelloAck, Lane } from './control-codec.js';
import { FrameError, FrameErrorReason } from './errors.js';
import { encodeFrame, type Frame, FrameDecoder, FRAME_HEADER_BYTES, FrameKind } from './frame.js';
import { SnapshotReceiver } from './snapshot-receiver.js';

const LANE_ACK_FRAME = encodeFrame(FrameKind.LaneAck, new Uint8Array(0), FRAME_HEADER_BYTES);

/**
 * One accepted connection: a hello naming the peer and lane, then Message frames (bulk/priority
 * lanes) or one snapshot stream. Reading with `for await` gives backpressure for free: while a
 * snapshot chunk is being written to the sink, nothing more is read from the socket. Any FrameError
 * closes this connection and is counted; nothing here can throw out of `run()`.
 */
export class InboundConnection {
  private readonly decoder: FrameDecoder;
  private peerId: NodeId = 0;
  private lane: Lane | null = null;
  private snapshot: SnapshotReceiver | null = null;
  private ackTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: InboundContext,
    private readonly socket: Socket,
  ) {
    this.decoder = new FrameDecoder(ctx.limits.frameBytesMax);
  }

  async run(): Promise<void> {
    const socket = this.socket;
    socket.setNoDelay(true);
    // A stuck sink blocks the read loop; closing the socket must still unblock it.
    socket.once('close', () => void this.snapshot?.fail(new FrameError(FrameErrorReason.Truncated, 'connection closed mid-snapshot')));
    let timedOut = false;
    const handshakeTimer = setTimeout(() => {
      timedOut = true;
      this.ctx.counters.add('handshakeTimeouts');
      socket.destroy();
    }, this.ctx.limits.handshakeTimeoutMs);
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) {
        this.ctx.counters.add('bytesReceived', chunk.byteLength);
        for (const frame of this.decoder.push(chunk)) {
          const pending = this.handle(frame);
          if (pending !== undefined) await pending;
          if (this.lane !== null) clearTimeout(handshakeTimer);
        }
      }
      if (!this.decoder.idle && !timedOut) throw new FrameError(FrameErrorReason.Truncated, 'connection ended inside a frame');
    } catch (e) {
      if (e instanceof FrameError) this.ctx.counters.frameError(e.reason);
    } finally {
      clearTimeout(handshakeTimer);
      if (this.ackTimer !== null) clearTimeout(this.ackTimer);
      await this.snapshot?.fail(new FrameError(FrameErrorReason.Truncated, 'connection closed mid-snapshot'));
      socket.destroy();
    }
  }

  private handle(frame: Frame): Promise<void> | undefined {
    if (this.lane === null) {
      this.handshake(frame);
      return undefined;
    }
    if (this.lane === Lane.Snapshot) return this.snapshotFrame(frame);
    if (frame.kind !== FrameKind.Message) throw new FrameError(FrameErrorReason.Unexpected, `kind ${frame.kind} on a message lane`);
    this.scheduleAck();
    this.message(decodeMessage(frame.payload));
    return undefined;
  }

  /** One LaneAck per laneAckDelayMs at most, however many frames arrive: cheap, and enough for liveness. */
  private scheduleAck(): void {
    if (this.ackTimer !== null) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (!this.socket.destroyed) this.socket.write(LANE_ACK_FRAME);
    }, this.ctx.limits.laneAckDelayMs);
    this.ackTimer.unref();
  }

  private handshake(frame: Frame): void {
    if (frame.kind !== FrameKind.Hello) throw new FrameError(FrameErrorReason.Handshake, `first frame is kind ${frame.kind}`);
    const hello = decodeHello(frame.payload, this.ctx.limits.clusterIdBytesMax);
    if (hello.clusterId !== this.ctx.clusterId) throw new FrameError(FrameErrorReason.Handshake, `cluster "${hello.clusterId}"`);
    if (hello.to !== this.ctx.localId) throw new FrameError(FrameErrorReason.Handshake, `dialer wanted node ${hello.to}`);
    if (hello.from === this.ctx.localId) throw new FrameError(FrameErrorReason.Handshake, 'dialer claims our own id');
    this.peerId = hello.from;
    this.lane = hello.lane;
    const ack = encodeHelloAck({ nodeId: this.ctx.localId, clusterId: this.ctx.clusterId });
    this.socket.write(encodeFrame(FrameKind.HelloAck, ack, this.ctx.limits.frameBytesMax));
    if (hello.lane === Lane.Snapshot) {
      this.socket.setTimeout(this.ctx.limits.snapshotIdleTimeoutMs, () => this.socket.destroy());
    }
  }

  /** A message must come from the peer that said hello and be addressed to us; else it is dropped. */
  private message(m: Message): void {
    if (m.from !== this.peerId || m.to !== this.ctx.localId) {
      this.ctx.counters.add('misaddressedMessages');
      return;
    }
    this.ctx.deliver(m);
  }

  private snapshotFrame(frame: Frame): Promise<void> {
    if (this.snapshot === null) {
      if (frame.kind !== FrameKind.SnapshotBegin) throw new FrameError(FrameErrorReason.Unexpected, `kind ${frame.kind} before SnapshotBegin`);
      this.snapshot = new SnapshotReceiver(this.ctx, this.peerId, this.socket);
    }
    return this.snapshot.handle(frame);
  }
}
