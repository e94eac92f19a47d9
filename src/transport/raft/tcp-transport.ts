import type { Server, Socket } from 'node:net';
import { AbortedError, InvalidArgumentError, StoppedError } from '../../common/errors.js';
import { SeededRandom } from '../../common/random.js';
import type { Message, NodeId } from '../../raft/types.js';
import { MSG_APP, MSG_SNAP } from './message-types.js';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';
import { encodeMessageFrame, isNetworkMessageType } from './codec.js';
import { Lane, utf8Bytes } from './control-codec.js';
import { FrameError } from './errors.js';
import type { InboundContext } from './context.js';
import { InboundConnection } from './inbound-connection.js';
import { resolveLimits, type TransportLimits } from './limits.js';
import { OutboundLane } from './outbound-lane.js';
import { createRaftServer, dialRaftPeer, type RaftTls } from './secure.js';
import { sendSnapshot, type SnapshotSenderContext } from './snapshot-sender.js';
import { TransportCounters, type TransportStats } from './stats.js';
import type { RaftTransport, RaftTransportOptions } from './types.js';

export interface TcpTransportOptions extends RaftTransportOptions {
  /** Interface to listen on; tests use 127.0.0.1. */
  readonly host: string;
  /** 0 picks a free port; see address(). */
  readonly port: number;
  /** Peer TLS; absent: plaintext TCP. */
  readonly tls?: RaftTls;
}

interface PeerLanes {
  readonly bulk: OutboundLane;
  readonly priority: OutboundLane;
  snapshotsInFlight: number;
}

/**
 * Raft messages over TCP. Per peer: a bulk lane for appends, a priority lane for everything small
 * (heartbeats, votes, responses) so they never wait behind megabytes of entries, and one short-lived
 * connection per snapshot stream. `send` only encodes and queues.
 */
export class TcpTransport implements RaftTransport {
  readonly localId: NodeId;
  readonly limits: TransportLimits;
  private readonly counters = new TransportCounters();
  /** What the lanes, connections and snapshot streams share; not part of the public surface. */
  private readonly ctx: SnapshotSenderContext & InboundContext;
  private readonly options: TcpTransportOptions;
  private readonly addresses = new Map<NodeId, string>();
  private readonly peers = new Map<NodeId, PeerLanes>();
  private readonly inbound = new Set<Socket>();
  private readonly lifetime = new AbortController();
  private readonly unreachablePending = new Set<NodeId>();
  private server: Server | null = null;
  private bound: HostPort | null = null;
  private snapshotReceives = 0;

  constructor(options: TcpTransportOptions) {
    if (!Number.isSafeInteger(options.localId) || options.localId <= 0) throw new InvalidArgumentError(`bad localId ${options.localId}`);
    this.options = options;
    this.localId = options.localId;
    this.limits = resolveLimits(options.limits);
    if (utf8Bytes(options.clusterId) > this.limits.clusterIdBytesMax) throw new InvalidArgumentError('clusterId is too long');
    this.ctx = {
      localId: options.localId,
      clusterId: options.clusterId,
      limits: this.limits,
      counters: this.counters,
      random: options.random ?? new SeededRandom(Math.floor(Math.random() * 2 ** 32)),
      closing: this.lifetime.signal,
      openSnapshot: options.openSnapshot?.bind(options),
      createSnapshotSink: options.createSnapshotSink?.bind(options),
      addressOf: (peerId) => this.addresses.get(peerId) ?? this.options.resolve?.(peerId),
      reportUnreachable: (peerId) => this.reportUnreachable(peerId),
      dial: (target, keepAlive) => dialRaftPeer(target, options.tls, keepAlive),
      deliver: (message) => this.deliver(message),
      acquireSnapshotSlot: () => this.acquireSnapshotSlot(),
      releaseSnapshotSlot: () => (this.snapshotReceives -= 1),
    };
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.lifetime.signal.aborted) throw new StoppedError('raft transport');
    if (this.server !== null) throw new InvalidArgumentError('raft transport already started');
    signal?.throwIfAborted();
    const server = createRaftServer(this.options.tls, (socket) => this.accept(socket));
    this.server = server;
    server.on('error', () => undefined); // listen errors surface below; later ones are per-socket
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        server.close();
        reject(new AbortedError('raft transport start aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      server.once('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      });
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    const info = server.address();
    if (info !== null && typeof info === 'object') this.bound = { host: info.address, port: info.port };
  }

  /** The bound address; after start(). */
  address(): HostPort {
    if (this.bound === null) throw new StoppedError('raft transport (not listening)');
    return this.bound;
  }

  /** The bound address as "host:port", what peers pass to setPeer. */
  addressString(): string {
    const { host, port } = this.address();
    return formatHostPort(host, port);
  }

  setPeer(peerId: NodeId, address: string): void {
    parseHostPort(address);
    const previous = this.addresses.get(peerId);
    this.addresses.set(peerId, address);
    // A new address makes existing connections stale; the next send dials the new one.
    if (previous !== undefined && previous !== address) this.closeLanes(peerId);
  }

  removePeer(peerId: NodeId): void {
    this.addresses.delete(peerId);
    this.closeLanes(peerId);
  }

  send(message: Message): void {
    if (this.lifetime.signal.aborted || message.to === this.localId || !isNetworkMessageType(message.type) || message.to <= 0) {
      this.counters.add('droppedInvalid');
      return;
    }
    if (message.type === MSG_SNAP) {
      this.startSnapshot(message);
      return;
    }
    let frame: Uint8Array;
    try {
      frame = encodeMessageFrame(message, this.limits.frameBytesMax);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.counters.add('droppedUnencodable');
      this.reportUnreachable(message.to);
      return;
    }
    const lanes = this.lanesOf(message.to);
    const lane = message.type === MSG_APP ? lanes.bulk : lanes.priority;
    if (!lane.enqueue(frame)) this.reportUnreachable(message.to);
  }

  stats(): TransportStats {
    return this.counters.snapshot();
  }

  async close(): Promise<void> {
    if (this.lifetime.signal.aborted) return;
    this.lifetime.abort(new StoppedError('raft transport'));
    for (const peerId of [...this.peers.keys()]) this.closeLanes(peerId);
    for (const socket of this.inbound) socket.destroy();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
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

  private deliver(message: Message): void {
    if (this.lifetime.signal.aborted) return;
    this.counters.add('messagesDelivered');
    try {
      this.options.onMessage(message);
    } catch {
      this.counters.add('handlerErrors');
    }
  }

  private acquireSnapshotSlot(): boolean {
    if (this.snapshotReceives >= this.limits.snapshotReceivesMax) return false;
    this.snapshotReceives += 1;
    return true;
  }

  private accept(socket: Socket): void {
    if (this.lifetime.signal.aborted || this.inbound.size >= this.limits.inboundConnectionsMax) {
      this.counters.add('connectionsRefused');
      socket.destroy();
      return;
    }
    this.counters.add('connectionsAccepted');
    this.inbound.add(socket);
    socket.on('error', () => undefined);
    void new InboundConnection(this.ctx, socket).run().finally(() => this.inbound.delete(socket));
  }

  private startSnapshot(message: Message): void {
    const lanes = this.lanesOf(message.to);
    if (lanes.snapshotsInFlight >= this.limits.snapshotSendsPerPeerMax) {
      this.counters.add('snapshotSendFailures');
      this.later(() => this.options.onSnapshotStatus(message.to, false));
      return;
    }
    lanes.snapshotsInFlight += 1;
    sendSnapshot(this.ctx, message, this.lifetime.signal).then(
      () => this.snapshotDone(lanes, message.to, true),
      () => this.snapshotDone(lanes, message.to, false),
    );
  }

  private snapshotDone(lanes: PeerLanes, peerId: NodeId, ok: boolean): void {
    lanes.snapshotsInFlight -= 1;
    this.counters.add(ok ? 'snapshotsSent' : 'snapshotSendFailures');
    this.later(() => this.options.onSnapshotStatus(peerId, ok));
  }

  private lanesOf(peerId: NodeId): PeerLanes {
    let lanes = this.peers.get(peerId);
    if (lanes === undefined) {
      lanes = { bulk: new OutboundLane(this.ctx, peerId, Lane.Bulk), priority: new OutboundLane(this.ctx, peerId, Lane.Priority), snapshotsInFlight: 0 };
      this.peers.set(peerId, lanes);
    }
    return lanes;
  }

  private closeLanes(peerId: NodeId): void {
    const lanes = this.peers.get(peerId);
    if (lanes === undefined) return;
    lanes.bulk.close();
    lanes.priority.close();
    this.peers.delete(peerId);
  }

  /** Callbacks run outside send() and never after close(): the driver may call back into raft safely. */
  private later(callback: () => void): void {
    queueMicrotask(() => {
      if (!this.lifetime.signal.aborted) callback();
    });
  }
}
