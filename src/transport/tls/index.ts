/**
 * TLS for every port of a node: certificate files that reload without a restart (files.ts), grpc-js
 * credentials fed from them (grpc.ts), and the count-and-log-once record of refused peers (refusals.ts).
 */
export { TlsFiles, TlsConfigError, issuedByOneOf, TLS_WATCH_INTERVAL_MS, type TlsPaths, type TlsMaterial } from './files.js';
export { PeerRefusals, REFUSAL_LOG_SOURCES_MAX, type RefusalCounts, type RefusalPath, type RefusalLogger } from './refusals.js';
