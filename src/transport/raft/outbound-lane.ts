import type { Socket } from 'node:net';
import type { NodeId } from '../../raft/types.js';
import { parseHostPort } from './address.js';
import { reconnectDelayMs } from './backoff.js';
import type { TransportContext } from './context.js';
import { decodeHelloAck, encodeHello, type Lane } from './control-codec.js';
import { FrameError, FrameErrorReason } from './errors.js';
import { encodeFrame, FrameDecoder, FrameKind } from './frame.js';
import { FrameQueue } from './frame-queue.js';

type LaneState = 'idle' | 'connecting' | 'open' | 'backoff' | 'closed';

/**
 * One outbound connection to one peer for one lane, with its bounded queue. Connects lazily on the
 * first send; after a failure it waits a jittered, capped exponential backoff, and sends during that
 * wait are refused (reported unreachable) instead of piling up stale raft messages. Writes are
 * pipelined: frames go to the socket until `inflightBytesMax` bytes are unflushed, then wait for 'drain'.
 */
export class OutboundLane {
  private state: LaneState = 'idle';
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private flushScheduled = false;
  /** When the oldest frame written since the listener's last LaneAck was written (null: all acknowledged). */
  private unackedSinceMs: number | null = null;
  private readonly queue: FrameQueue;

  constructor(
    private readonly ctx: TransportContext,
    readonly peerId: NodeId,
    private readonly lane: Lane,
  ) {
    this.queue = new FrameQueue(ctx.limits.peerQueueMessagesMax, ctx.limits.peerQueueBytesMax);
  }

  /** Queues an encoded frame. False (already counted) when it had to be dropped. */
  enqueue(frame: Uint8Array): boolean {
    if (this.state === 'closed') return this.refuse('droppedInvalid');
    if (this.state === 'backoff') return this.refuse('droppedDisconnected');
    if (this.stalled()) return this.refuse('droppedDisconnected');
    if (!this.queue.offer(frame)) return this.refuse('droppedQueueFull');
    if (this.state === 'idle') this.dial();
    else if (this.state === 'open') this.scheduleFlush();
    return true;
  }

  close(): void {
    this.state = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.clear();
    this.socket?.destroy();
    this.socket = null;
  }

  /**
   * Checked on every send (raft keeps sending while a peer is silent: heartbeats, retries), so no
   * timer is needed. A stalled connection is closed; onClose drops the queue and schedules the redial.
   */
  private stalled(): boolean {
    if (this.state !== 'open' || this.unackedSinceMs === null) return false;
    if (performance.now() - this.unackedSinceMs < this.ctx.limits.laneStallTimeoutMs) return false;
    this.ctx.counters.add('connectionsStalled');
    this.socket?.destroy();
    return true;
  }

  private refuse(counter: 'droppedInvalid' | 'droppedDisconnected' | 'droppedQueueFull' | 'droppedNoAddress'): false {
    this.ctx.counters.add(counter);
    return false;
  }

  private dial(): void {
    const address = this.ctx.addressOf(this.peerId);
    if (address === undefined) {
      this.ctx.counters.add('droppedNoAddress', this.queue.clear());
      this.ctx.reportUnreachable(this.peerId);
      return; // stays idle: the next send looks the address up again
    }
    let target;
    try {
      target = parseHostPort(address);
    } catch {
      this.ctx.counters.add('droppedNoAddress', this.queue.clear());
      this.ctx.reportUnreachable(this.peerId);
      return;
    }
    this.state = 'connecting';
    this.unackedSinceMs = null;
    this.ctx.counters.add('connectionsDialed');
    const { socket, readyEvent } = this.ctx.dial(target, true);
    this.socket = socket;
    socket.setTimeout(this.ctx.limits.connectTimeoutMs, () => socket.destroy());
    socket.once(readyEvent, () => this.onConnect(socket));
    socket.on('drain', () => this.flush());
    socket.on('error', () => undefined); // 'close' follows and handles it
    socket.once('close', () => this.onClose(socket));
    this.readAcks(socket);
  }

  private onConnect(socket: Socket): void {
    if (this.socket !== socket) return;
    socket.setTimeout(0);
    const hello = encodeHello({ lane: this.lane, from: this.ctx.localId, to: this.peerId, clusterId: this.ctx.clusterId });
    socket.write(encodeFrame(FrameKind.Hello, hello, this.ctx.limits.frameBytesMax));
    this.state = 'open';
    this.flush();
  }

  /** The listener answers our hello once, then sends LaneAcks; anything else is a protocol error. */
  private readAcks(socket: Socket): void {
    const decoder = new FrameDecoder(this.ctx.limits.frameBytesMax);
    let acked = false;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          if (acked && frame.kind === FrameKind.LaneAck) {
            if (this.socket === socket) this.unackedSinceMs = null;
            continue;
          }
          if (acked || frame.kind !== FrameKind.HelloAck) throw new FrameError(FrameErrorReason.Unexpected, `kind ${frame.kind} on an outbound lane`);
          const ack = decodeHelloAck(frame.payload, this.ctx.limits.clusterIdBytesMax);
          if (ack.nodeId !== this.peerId || ack.clusterId !== this.ctx.clusterId) {
            throw new FrameError(FrameErrorReason.Handshake, `expected node ${this.peerId}, reached ${ack.nodeId} of cluster "${ack.clusterId}"`);
          }
          acked = true;
          this.attempts = 0;
          this.ctx.counters.add('connectionsEstablished');
        }
      } catch (e) {
        if (e instanceof FrameError) this.ctx.counters.frameError(e.reason);
        socket.destroy();
      }
    });
  }

  /**
   * Sends issued in one burst (a raft Ready carries many messages) are written together, corked into
   * one writev, instead of one syscall per message.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || socket === null) return;
    const inflightBytesMax = this.ctx.limits.inflightBytesMax;
    socket.cork();
    while (socket.writableLength < inflightBytesMax) {
      const frame = this.queue.poll();
      if (frame === undefined) break;
      this.unackedSinceMs ??= performance.now();
      socket.write(frame);
      this.ctx.counters.add('messagesSent');
      this.ctx.counters.add('bytesSent', frame.byteLength);
    }
    socket.uncork();
  }

  /** Whatever broke the connection, the queued messages are lost to raft; it will retry. */
  private onClose(socket: Socket): void {
    if (this.socket !== socket || this.state === 'closed') return;
    this.socket = null;
    this.ctx.counters.add('connectionFailures');
    this.ctx.counters.add('droppedDisconnected', this.queue.clear());
    this.ctx.reportUnreachable(this.peerId);
    this.attempts += 1;
    const delayMs = reconnectDelayMs(this.attempts, this.ctx.limits.reconnectBackoffMsMin, this.ctx.limits.reconnectBackoffMsMax, this.ctx.random);
    this.state = 'backoff';
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.state = 'idle';
    }, delayMs);
    this.timer.unref();
  }
}
