import type { Random } from '../../common/random.js';
import type { Message, NodeId } from '../../raft/types.js';
import type { HostPort } from './address.js';
import type { DialedSocket } from './secure.js';
import type { TransportLimits } from './limits.js';
import type { TransportCounters } from './stats.js';
import type { TransportHandlers } from './types.js';

/** What the pieces of the TCP transport share; owned by TcpTransport. */
export interface TransportContext {
  readonly localId: NodeId;
  readonly clusterId: string;
  readonly limits: TransportLimits;
  readonly counters: TransportCounters;
  readonly random: Random;
  /** The peer's "host:port" from setPeer, else from the resolver. */
  addressOf(peerId: NodeId): string | undefined;
  /** Counts and (outside the current call stack) tells the driver via onUnreachable. */
  reportUnreachable(peerId: NodeId): void;
  /** Opens a connection to a peer: plain TCP, or TLS with --peer_cert_file. */
  dial(target: HostPort, keepAlive: boolean): DialedSocket;
}

/** What an accepted connection and its snapshot receiver need of the transport. */
export interface InboundContext extends TransportContext {
  /** Hands a validated message to onMessage, counting a throwing handler. */
  deliver(message: Message): void;
  readonly createSnapshotSink: TransportHandlers['createSnapshotSink'];
  /** Takes one of the snapshotReceivesMax slots; false when none is free. */
  acquireSnapshotSlot(): boolean;
  releaseSnapshotSlot(): void;
  /** Aborted by close(). */
  readonly closing: AbortSignal;
}
