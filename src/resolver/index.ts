export type { AddressResolver } from './types.js';
export { StaticResolver, parsePeers, checkHostPort } from './static.js';
