export { RaftNode } from './raft-node.js';
export type { ApplyResult, LeaderInfo, NodeStats } from './raft-node.js';
export type { RaftNodeOptions } from './options.js';
export { NODE_DEFAULTS } from './options.js';
export type { StateMachine } from './state-machine.js';
export { LeadershipLostError } from './waiters.js';
