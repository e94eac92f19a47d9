export { startGrpcServer } from './grpc-server.js';
export type { RaftkvGrpcServer } from './grpc-server.js';
export type { ServiceDeps, ServiceKv, ServiceOptions } from './deps.js';
export type { ServiceNode } from './node-port.js';
export { SERVICE_DEFAULTS } from './deps.js';
export { toStatus, grpcStatusOf, ERROR_CODE_HEADER, LEADER_ID_HEADER } from './status.js';
export { FORWARDED_HEADER } from './forward.js';
