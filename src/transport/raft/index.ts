/** The raft transport's public surface: what src/node depends on. */
export type { RaftTransport, RaftTransportOptions, TransportHandlers, SnapshotSink, PeerResolver } from './types.js';
export type { TransportStats } from './stats.js';
export { type TransportLimits, defaultTransportLimits } from './limits.js';
export { FrameError, FrameErrorReason, SnapshotTransferError, isFrameError } from './errors.js';
export { TcpTransport, type TcpTransportOptions } from './tcp-transport.js';
export { MemoryTransport } from './memory-transport.js';
export { MemoryNetwork, ManualScheduler, realScheduler, type Scheduler, type LinkFaults } from './memory-network.js';
export { encodeMessage, decodeMessage, encodeMessageFrame, messageEncodedBytes } from './codec.js';
export { parseHostPort, formatHostPort, type HostPort } from './address.js';
