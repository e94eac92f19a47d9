import type { Message, NodeId, SnapshotMeta } from '../../raft/types.js';
import type { Random } from '../../common/random.js';
import type { TransportLimits } from './limits.js';
import type { TransportStats } from './stats.js';

/**
 * Where the node stores an incoming snapshot. The transport writes every chunk (awaiting each write:
 * that is the backpressure), then calls `finish()`, and only after it resolves delivers the Snap
 * message to `onMessage`. On any failure it calls `abort()` instead and never delivers.
 */
export interface SnapshotSink {
  write(chunk: Uint8Array): Promise<void>;
  /** All bytes arrived and their length and CRC-32 matched: make the snapshot durable. */
  finish(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

/** The node's side of the contract: what the transport calls. Callbacks never run inside `send()`. */
export interface TransportHandlers {
  /** A message for this node, already validated (`to` is us, `from` is the authenticated sender). */
  onMessage(message: Message): void;
  /** A message to `peerId` was dropped (queue full, no address, connection lost): call reportUnreachable. */
  onUnreachable(peerId: NodeId): void;
  /** An outgoing snapshot stream finished (`ok`: the peer stored it) or failed: call reportSnapshot. */
  onSnapshotStatus(peerId: NodeId, ok: boolean): void;
  /**
   * Data for an outgoing Snap message whose `snapshot.data` is empty (big snapshots live in files).
   * Chunks may have any size; the transport re-chunks them. Without it, an empty snapshot is sent as is.
   */
  openSnapshot?: (meta: SnapshotMeta, signal: AbortSignal) => AsyncIterable<Uint8Array>;
  /** Where an incoming snapshot goes. Without it, incoming snapshot streams are refused. */
  createSnapshotSink?: (meta: SnapshotMeta, from: NodeId, signal: AbortSignal) => Promise<SnapshotSink>;
}

/** "host:port" for a peer, or undefined when unknown. Consulted after the `setPeer` map. */
export type PeerResolver = (peerId: NodeId) => string | undefined;

export interface RaftTransportOptions extends TransportHandlers {
  readonly localId: NodeId;
  /** Peers with another cluster id are refused at the handshake. */
  readonly clusterId: string;
  readonly resolve?: PeerResolver;
  readonly limits?: Partial<TransportLimits>;
  /** Jitter for reconnect backoff; defaults to a randomly seeded PRNG. */
  readonly random?: Random;
}

/**
 * What the raft node driver depends on. `send` never blocks and never throws for network reasons:
 * failures come back through `onUnreachable` / `onSnapshotStatus`, as etcd's raft expects.
 */
export interface RaftTransport {
  readonly localId: NodeId;
  /** Starts listening (TCP) or joins the network (memory). */
  start(signal?: AbortSignal): Promise<void>;
  /** Queues a network message for `message.to`. A Snap message starts a snapshot stream. */
  send(message: Message): void;
  setPeer(peerId: NodeId, address: string): void;
  /** Forgets the address and closes the connections to the peer. */
  removePeer(peerId: NodeId): void;
  stats(): TransportStats;
  /** Closes every socket and timer; no callback runs afterwards. Idempotent. */
  close(): Promise<void>;
}
