/**
 * The gossip network: UDP (node:dgram) for probes and piggybacked gossip, TCP (node:net) for
 * push/pull anti-entropy and joins, optional AES-256-GCM keyring. The protocol runs in the pure
 * core (src/gossip), driven by GossipAgent (src/node/gossip-agent.ts), which talks to this port.
 */
export { UdpGossipNet } from './net.js';
export type { GossipNetCounters, GossipNetHandlers, GossipNetwork, UdpGossipNetOptions } from './net.js';
export { Keyring, ENCRYPTION_OVERHEAD_BYTES } from './keyring.js';
export { GossipKeyringError, GossipTransportError } from './errors.js';
