/** The storage layer's public surface for the node driver and the kv layer. */
export { crc32c } from './crc32c.js';
export * from './errors.js';
export { DiskStorage, LOG_PENDING_WRITES_MAX, type DiskStorageOptions, type LogUpdate, type WriteOptions } from './log-store.js';
export { DEFAULT_LOG_ERRORS, ENTRY_OVERHEAD_BYTES, type LogErrorFactory } from './log-tail.js';
export { QUARANTINE_FILE } from './log-load.js';
export {
  FileSnapshotStore,
  SNAPSHOT_ISSUES_MAX,
  SNAPSHOT_READ_CHUNK_BYTES,
  SNAPSHOT_RETAIN_COUNT_DEFAULT,
  SNAPSHOT_SINKS_MAX,
  type SnapshotInfo,
  type SnapshotIssue,
  type SnapshotSink,
  type SnapshotStoreOptions,
} from './snapshot-store.js';
export { snapshotId, parseSnapshotId } from './snapshot-meta.js';
export {
  NODE_META_FILE,
  NODE_META_FORMAT_VERSION,
  nodePaths,
  openNodeMeta,
  readNodeMeta,
  writeNodeMeta,
  type NodeMeta,
  type NodePaths,
} from './node-meta.js';
export { fsyncDir, writeFileAtomic } from './atomic-file.js';
