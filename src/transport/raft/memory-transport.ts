import { InvalidArgumentError, StoppedError } from '../../common/errors.js';
import type { Message, NodeId } from '../../raft/types.js';
import { decodeMessage, encodeMessage, isNetworkMessageType } from './codec.js';
import { FrameError, FrameErrorReason, SnapshotTransferError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame.js';
import { resolveLimits, type TransportLimits } from './limits.js';
import type { MemoryEndpoint, MemoryNetwork } from './memory-network.js';
import { MSG_SNAP } from './message-types.js';
import { receiveMemorySnapshot, snapshotSource } from './memory-snapshot.js';
import { TransportCounters, type TransportStats } from './stats.js';
import type { RaftTransport, RaftTransportOptions } from './types.js';

/**
 * The RaftTransport of the simulations: same contract as TcpTransport (validation, bounded in-flight
 * per peer, unreachable reports, snapshot streaming into the sink before delivery), over a
 * MemoryNetwork that injects loss, duplication, delay and partitions. Every message is copied through
 * the wire codec, so a node can never see another node's objects and every message is encodable.
 * Addresses are not needed: a peer is reachable when it is on the network (setPeer is recorded only).
 */
export class MemoryTransport implements RaftTransport, MemoryEndpoint {
  readonly localId: NodeId;
  readonly limits: TransportLimits;
  private readonly counters = new TransportCounters();
  private readonly inflight = new Map<NodeId, number>();
  private readonly snapshotsInFlight = new Map<NodeId, number>();
  private readonly addresses = new Map<NodeId, string>();
  private readonly lifetime = new AbortController();
  private readonly unreachablePending = new Set<NodeId>();
  private started = false;

  constructor(
    private readonly network: MemoryNetwork,
    private readonly options: RaftTransportOptions,
  ) {
    if (!Number.isSafeInteger(options.localId) || options.localId <= 0) throw new InvalidArgumentError(`bad localId ${options.localId}`);
    this.localId = options.localId;
    this.limits = resolveLimits(options.limits);
  }

  // Synchronous work behind the Transport interface's promise: nothing here waits.
  start(signal?: AbortSignal): Promise<void> {
    try {
      this.startNow(signal);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private startNow(signal?: AbortSignal): void {
    signal?.throwIfAborted();
    if (this.lifetime.signal.aborted) throw new StoppedError('raft transport');
    if (this.started) throw new InvalidArgumentError('raft transport already started');
    this.network.register(this);
    this.started = true;
  }

  setPeer(peerId: NodeId, address: string): void {
    this.addresses.set(peerId, address);
  }

  removePeer(peerId: NodeId): void {
    this.addresses.delete(peerId);
  }

  send(message: Message): void {
    if (!this.started || this.lifetime.signal.aborted || message.to === this.localId || message.to <= 0 || !isNetworkMessageType(message.type)) {
      this.counters.add('droppedInvalid');
      return;
    }
    if (message.type === MSG_SNAP) {
      this.sendSnapshot(message);
      return;
    }
    const copy = this.copy(message);
    if (copy === null) return;
    const inflight = this.inflight.get(message.to) ?? 0;
    if (inflight >= this.limits.peerQueueMessagesMax) {
      this.counters.add('droppedQueueFull');
      this.reportUnreachable(message.to);
      return;
    }
    this.inflight.set(message.to, inflight + 1);
    const routed = this.network.route(copy, () => this.inflight.set(message.to, (this.inflight.get(message.to) ?? 1) - 1));
    if (!routed) {
      this.inflight.set(message.to, inflight);
      this.counters.add('droppedNoAddress');
      this.reportUnreachable(message.to);
      return;
    }
    this.counters.add('messagesSent');
  }

  /** Called by the network. */
  receive(message: Message): void {
    if (this.lifetime.signal.aborted) return;
    this.counters.add('messagesDelivered');
    try {
      this.options.onMessage(message);
    } catch {
      this.counters.add('handlerErrors');
    }
  }

  stats(): TransportStats {
    return this.counters.snapshot();
  }

  close(): Promise<void> {
    if (!this.lifetime.signal.aborted) {
      this.lifetime.abort(new StoppedError('raft transport'));
      this.network.unregister(this);
    }
    return Promise.resolve();
  }

  /** Encode + decode: validates like the wire does and isolates the nodes' objects. */
  private copy(message: Message): Message | null {
    try {
      const payload = encodeMessage(message);
      if (FRAME_HEADER_BYTES + payload.byteLength > this.limits.frameBytesMax) throw new FrameError(FrameErrorReason.Oversized, `${payload.byteLength} bytes`);
      this.counters.add('bytesSent', payload.byteLength);
      return decodeMessage(payload);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.counters.add('droppedUnencodable');
      this.reportUnreachable(message.to);
      return null;
    }
  }

  private sendSnapshot(message: Message): void {
    const peerId = message.to;
    const active = this.snapshotsInFlight.get(peerId) ?? 0;
    if (active >= this.limits.snapshotSendsPerPeerMax) {
      this.counters.add('snapshotSendFailures');
      this.later(() => this.options.onSnapshotStatus(peerId, false));
      return;
    }
    this.snapshotsInFlight.set(peerId, active + 1);
    this.streamSnapshot(message).then(
      () => this.snapshotDone(peerId, true),
      () => this.snapshotDone(peerId, false),
    );
  }

  private async streamSnapshot(message: Message): Promise<void> {
    const header = this.copy({ ...message, snapshot: message.snapshot && { meta: message.snapshot.meta, data: new Uint8Array(0) } });
    if (header === null || message.snapshot === null) throw new SnapshotTransferError('unencodable Snap message');
    const target = this.network.snapshotTarget(message.from, message.to);
    if (target === undefined) throw new SnapshotTransferError(`node ${message.to} is not reachable`);
    const source = snapshotSource(message.snapshot, this.options.openSnapshot, this.lifetime.signal);
    const sent = await target.receiveSnapshot(header, source, () => this.network.canReach(message.from, message.to), this.lifetime.signal);
    this.counters.add('snapshotBytesSent', sent);
  }

  /** Called by the network on the receiving side; resolves with the bytes stored. */
  async receiveSnapshot(header: Message, source: AsyncIterable<Uint8Array>, linkUp: () => boolean, senderSignal: AbortSignal): Promise<number> {
    const signal = AbortSignal.any([senderSignal, this.lifetime.signal]);
    try {
      const { message, bytes } = await receiveMemorySnapshot(header, source, linkUp, signal, this.limits, this.options.createSnapshotSink);
      this.counters.add('snapshotsReceived');
      this.counters.add('snapshotBytesReceived', bytes);
      this.receive(message);
      return bytes;
    } catch (e) {
      this.counters.add('snapshotReceiveFailures');
      throw e;
    }
  }

  private snapshotDone(peerId: NodeId, ok: boolean): void {
    this.snapshotsInFlight.set(peerId, (this.snapshotsInFlight.get(peerId) ?? 1) - 1);
    this.counters.add(ok ? 'snapshotsSent' : 'snapshotSendFailures');
    this.later(() => this.options.onSnapshotStatus(peerId, ok));
  }

  /**
   * One onUnreachable per peer per turn of the event loop, however many messages were dropped in it:
   * the driver's reportUnreachable is a state change, not a counter (drops are counted in stats()).
   */
  private reportUnreachable(peerId: NodeId): void {
    if (this.unreachablePending.has(peerId)) return;
    this.unreachablePending.add(peerId);
    this.counters.add('unreachableReports');
    this.later(() => {
      this.unreachablePending.delete(peerId);
      this.options.onUnreachable(peerId);
    });
  }

  /** Like TcpTransport: callbacks run outside send(), through the network's scheduler, never after close(). */
  private later(callback: () => void): void {
    this.network.scheduler.schedule(0, () => {
      if (!this.lifetime.signal.aborted) callback();
    });
  }
}
