export * from './types.js';
export * from './config.js';
export * from './storage.js';
export * from './confchange.js';
export { RawNode } from './raw-node.js';
export { ConfChangeInProgressError, TransferInProgressError } from './raft.js';
export { majority, committedIndex, voteResult, VoteResult } from './quorum.js';
export { bootstrapEntries } from './bootstrap.js';
