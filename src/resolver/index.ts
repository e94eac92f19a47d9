export type { AddressResolver } from './types.js';
export { StaticResolver, parsePeers, checkHostPort } from './static.js';
export { GossipResolver, memberNodeId } from './gossip-resolver.js';
export type { GossipMemberSource } from './gossip-resolver.js';
