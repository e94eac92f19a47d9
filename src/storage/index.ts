/**
 * The storage layer's public surface for the node driver and the kv layer.
 *
 * Driver recipe (src/raft/types.ts `Ready`):
 *   const paths = nodePaths(dataDir, nodeId);
 *   await openNodeMeta(paths.root, { nodeId });                 // NodeIdMismatchError if not ours
 *   const log = await DiskStorage.open(paths.raft, { signal });   // throws the core's CompactedError etc.
 *   const snaps = await FileSnapshotStore.open(paths.snapshots, { signal, onIssue: (i) => log.warn(i) });
 *   // per Ready, after sending `messages`:
 *   await log.persist({ snapshotMeta: rd.snapshot?.meta ?? null, entries: rd.entries,
 *     hardState: rd.hardState }, { sync: rd.mustSync });
 *   // local snapshot: sink = await snaps.create(meta); write; await sink.commit();
 *   //   await log.recordSnapshot(meta); await log.compact(meta.index - trailingEntries);
 *   // received snapshot: stream into snaps.create(meta) and commit BEFORE stepping the Snap message.
 */
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
