/**
 * Gossip over real sockets: UDP (node:dgram) for probes and piggybacked gossip, TCP (node:net) for
 * push/pull anti-entropy and joins, optional AES-256-GCM keyring. Runs the pure core from src/gossip;
 * the layer rules let transport import only gossip *types*, so the caller injects the core class.
 *
 *   import { GossipCore } from '../gossip/index.js';
 *   import { GossipAgent, Keyring } from '../transport/gossip/index.js';
 *
 *   const agent = new GossipAgent({
 *     core: GossipCore, name: 'node-1', bindHost: '127.0.0.1', port: 7946,          // port 0 = any free
 *     meta: { nodeId: '1', raftAddr: '127.0.0.1:7000', grpcAddr: '127.0.0.1:9000', version: '0.1.0', tags: {} },
 *     config: { probeIntervalMs: 1000 },   // any GossipConfig field; defaults = memberlist LAN
 *     keyring: new Keyring(key32Bytes),    // optional; same keys on every member
 *   });
 *   agent.on('member', (e) => ...);        // e.kind: join | update | suspect | alive | dead | left
 *   await agent.start(signal);             // binds UDP+TCP on one port; agent.address = 'host:port'
 *   const answered = await agent.join(['127.0.0.1:7946'], signal);  // 0 = no seed answered
 *   agent.members();                       // MemberView[]: name, addr, state, incarnation, meta
 *   agent.updateMeta(newMeta);             // <= 512 bytes encoded, else InvalidArgumentError
 *   await agent.leave(5000);               // peers mark us "left" (not "dead")
 *   await agent.stop();                    // close sockets; without leave, peers detect us as dead
 *   agent.stats();                         // counters incl. malformed/oversized/undecryptable packets
 *
 * Seeds given to join() are re-joined periodically while absent, so partitions heal by themselves.
 */
export { GossipAgent } from './agent.js';
export type { GossipAgentOptions, GossipAgentStats, GossipCoreClass } from './agent.js';
export { Keyring, ENCRYPTION_OVERHEAD_BYTES } from './keyring.js';
export { GossipKeyringError, GossipTransportError } from './errors.js';
