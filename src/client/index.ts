export { RaftkvClient, DEFAULT_TIMEOUT_MS, type RaftkvClientOptions } from './client.js';
export * from './errors.js';
export { ServerError, errorFromGrpc, isRetryable, ERROR_CODE_METADATA_KEY, LEADER_ID_METADATA_KEY } from './status.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export type * from './types.js';
export { readClientTls, type ClientTls } from './tls.js';
export { Limits } from '../common/limits.js';
