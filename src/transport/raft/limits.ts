import { InvalidArgumentError } from '../../common/errors.js';
import { Limits } from '../../common/limits.js';

/** Every queue, buffer and frame of the raft transport, with a finite default. */
export interface TransportLimits {
  /** Largest frame on the wire, length prefix included. A bigger frame closes the connection. */
  readonly frameBytesMax: number;
  /** Messages waiting per peer lane (bulk appends, priority control). At the limit, sends are dropped. */
  readonly peerQueueMessagesMax: number;
  /** Encoded bytes waiting per peer lane, in our queue. At the limit, sends are dropped. */
  readonly peerQueueBytesMax: number;
  /** Bytes handed to a socket but not yet flushed; above this we stop pulling from the queue (pipelining bound). */
  readonly inflightBytesMax: number;
  /** Payload bytes per snapshot chunk frame. */
  readonly snapshotChunkBytes: number;
  /** Concurrent outgoing snapshot streams per peer; one more is refused with onSnapshotStatus(false). */
  readonly snapshotSendsPerPeerMax: number;
  /** Concurrent incoming snapshot streams; one more is refused. */
  readonly snapshotReceivesMax: number;
  /** A snapshot connection silent this long (either direction) fails. */
  readonly snapshotIdleTimeoutMs: number;
  readonly reconnectBackoffMsMin: number;
  readonly reconnectBackoffMsMax: number;
  /** A listener acknowledges arriving message frames at most this long after the first unacknowledged one. */
  readonly laneAckDelayMs: number;
  /**
   * A dialer whose written frames go unacknowledged this long closes the connection and redials: after
   * a partition heals, TCP's retransmission backoff would otherwise keep the old connection silent
   * for as long again as the partition lasted.
   */
  readonly laneStallTimeoutMs: number;
  /** An outbound connect that takes longer is abandoned. */
  readonly connectTimeoutMs: number;
  /** An inbound connection must identify itself within this time. */
  readonly handshakeTimeoutMs: number;
  /** Accepted connections open at once; more are closed immediately. */
  readonly inboundConnectionsMax: number;
  /** Longest cluster id, in UTF-8 bytes. */
  readonly clusterIdBytesMax: number;
}

export const defaultTransportLimits: TransportLimits = {
  frameBytesMax: Limits.raftFrameBytesMax,
  peerQueueMessagesMax: 4096,
  peerQueueBytesMax: 64 * 1024 * 1024,
  inflightBytesMax: 4 * 1024 * 1024,
  snapshotChunkBytes: 256 * 1024,
  snapshotSendsPerPeerMax: 1,
  snapshotReceivesMax: 4,
  snapshotIdleTimeoutMs: 30_000,
  reconnectBackoffMsMin: 50,
  // Capped near an election timeout: a restarted peer must hear from the leader before it campaigns.
  reconnectBackoffMsMax: 1_000,
  laneAckDelayMs: 50,
  laneStallTimeoutMs: 2_000,
  connectTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  inboundConnectionsMax: 256,
  clusterIdBytesMax: 128,
};

/** Smallest frame limit we accept: a handshake and a heartbeat must always fit. */
const FRAME_BYTES_MIN = 1024;
/** Node's default socket high-water mark; the inflight bound must reach it so 'drain' always fires. */
const SOCKET_HIGH_WATER_BYTES = 16 * 1024;

export function resolveLimits(overrides: Partial<TransportLimits> | undefined): TransportLimits {
  const limits = { ...defaultTransportLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new InvalidArgumentError(`transport limit ${name} must be a positive integer, got ${value}`);
    }
  }
  if (limits.frameBytesMax < FRAME_BYTES_MIN) {
    throw new InvalidArgumentError(`frameBytesMax must be at least ${FRAME_BYTES_MIN}`);
  }
  if (limits.snapshotChunkBytes > limits.frameBytesMax - 64) {
    throw new InvalidArgumentError('snapshotChunkBytes must leave room for the frame header within frameBytesMax');
  }
  if (limits.inflightBytesMax < SOCKET_HIGH_WATER_BYTES) {
    throw new InvalidArgumentError(`inflightBytesMax must be at least ${SOCKET_HIGH_WATER_BYTES}`);
  }
  if (limits.laneStallTimeoutMs <= 2 * limits.laneAckDelayMs) {
    throw new InvalidArgumentError('laneStallTimeoutMs must be more than twice laneAckDelayMs');
  }
  if (limits.reconnectBackoffMsMin > limits.reconnectBackoffMsMax) {
    throw new InvalidArgumentError('reconnectBackoffMsMin must not exceed reconnectBackoffMsMax');
  }
  return limits;
}
