import type { FrameErrorReason } from './errors.js';

/** Counters of one transport, monotonically increasing. */
export interface TransportStats {
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly messagesDelivered: number;
  readonly bytesReceived: number;
  /** Sends refused because the peer lane's queue was full (messages or bytes). */
  readonly droppedQueueFull: number;
  /** Sends refused because the peer has no known address. */
  readonly droppedNoAddress: number;
  /** Sends refused while the peer lane waits to reconnect, or lost from the queue when its connection broke. */
  readonly droppedDisconnected: number;
  /** Messages that could not be encoded (bigger than frameBytesMax, or malformed). */
  readonly droppedUnencodable: number;
  /** Sends after close(), to ourselves, or of local-only message types. */
  readonly droppedInvalid: number;
  /** onUnreachable calls: at most one per peer per event-loop turn. */
  readonly unreachableReports: number;
  readonly connectionsDialed: number;
  readonly connectionsEstablished: number;
  readonly connectionFailures: number;
  /** Outbound connections closed because written frames went unacknowledged for laneStallTimeoutMs. */
  readonly connectionsStalled: number;
  readonly connectionsAccepted: number;
  /** Inbound connections closed at once because inboundConnectionsMax was reached. */
  readonly connectionsRefused: number;
  /** Inbound connections closed for a malformed, oversized, unknown-version or unexpected frame. */
  readonly frameErrors: number;
  readonly frameErrorsByReason: Readonly<Partial<Record<FrameErrorReason, number>>>;
  /** Inbound connections that did not complete a valid handshake in time. */
  readonly handshakeTimeouts: number;
  /** Inbound messages whose from/to did not match the connection's peer and us; dropped. */
  readonly misaddressedMessages: number;
  /** onMessage threw; the message is lost but the connection stays. */
  readonly handlerErrors: number;
  readonly snapshotsSent: number;
  readonly snapshotSendFailures: number;
  readonly snapshotsReceived: number;
  readonly snapshotReceiveFailures: number;
  readonly snapshotBytesSent: number;
  readonly snapshotBytesReceived: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type CounterName = { [K in keyof TransportStats]: TransportStats[K] extends number ? K : never }[keyof TransportStats];

export class TransportCounters {
  private readonly values: Mutable<Omit<TransportStats, 'frameErrorsByReason'>> = {
    messagesSent: 0,
    bytesSent: 0,
    messagesDelivered: 0,
    bytesReceived: 0,
    droppedQueueFull: 0,
    droppedNoAddress: 0,
    droppedDisconnected: 0,
    droppedUnencodable: 0,
    droppedInvalid: 0,
    unreachableReports: 0,
    connectionsDialed: 0,
    connectionsEstablished: 0,
    connectionFailures: 0,
    connectionsStalled: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
    frameErrors: 0,
    handshakeTimeouts: 0,
    misaddressedMessages: 0,
    handlerErrors: 0,
    snapshotsSent: 0,
    snapshotSendFailures: 0,
    snapshotsReceived: 0,
    snapshotReceiveFailures: 0,
    snapshotBytesSent: 0,
    snapshotBytesReceived: 0,
  };
  private readonly byReason: Partial<Record<FrameErrorReason, number>> = {};

  add(name: CounterName, n = 1): void {
    this.values[name] += n;
  }

  frameError(reason: FrameErrorReason): void {
    this.values.frameErrors += 1;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }

  snapshot(): TransportStats {
    return { ...this.values, frameErrorsByReason: { ...this.byReason } };
  }
}
