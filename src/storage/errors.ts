/**
 * Typed errors of the storage layer. Corruption itself is `CorruptionError` from src/common; the
 * classes here cover misuse and identity problems that a caller can act on.
 */
import { ErrorCode, RaftkvError } from '../common/errors.js';

/**
 * A write to the log store failed. The on-disk state after a failed fsync is unknown, so the store
 * refuses every later write: the node must stop and restart (which re-verifies the log).
 */
export class StorageFailedError extends RaftkvError {
  override readonly name = 'StorageFailedError';
  constructor(dir: string, cause: unknown) {
    super(ErrorCode.Internal, `raft log store ${dir} failed a write and refuses further writes`, { cause });
  }
}

/** The data directory belongs to another node. */
export class NodeIdMismatchError extends RaftkvError {
  override readonly name = 'NodeIdMismatchError';
  constructor(
    readonly file: string,
    readonly storedNodeId: number,
    readonly requestedNodeId: number,
  ) {
    super(
      ErrorCode.InvalidArgument,
      `${file} belongs to node ${storedNodeId}, refusing to start as node ${requestedNodeId}`,
    );
  }
}

/** The data directory belongs to another cluster. */
export class ClusterIdMismatchError extends RaftkvError {
  override readonly name = 'ClusterIdMismatchError';
  constructor(file: string, stored: string, requested: string) {
    super(ErrorCode.InvalidArgument, `${file} belongs to cluster ${stored}, refusing to join cluster ${requested}`);
  }
}

/** A file was written by a format version this build does not read. */
export class UnsupportedFormatError extends RaftkvError {
  override readonly name = 'UnsupportedFormatError';
  constructor(file: string, version: unknown, supported: number) {
    super(ErrorCode.InvalidArgument, `${file} has format version ${String(version)}; this build reads version ${supported}`);
  }
}

export class SnapshotNotFoundError extends RaftkvError {
  override readonly name = 'SnapshotNotFoundError';
  constructor(id: string, dir: string) {
    super(ErrorCode.NotFound, `snapshot ${id} not found in ${dir}`);
  }
}

/** A snapshot with the same (term, index) is committed or being written already. */
export class SnapshotExistsError extends RaftkvError {
  override readonly name = 'SnapshotExistsError';
  constructor(id: string, dir: string) {
    super(ErrorCode.InvalidArgument, `snapshot ${id} already exists or is being written in ${dir}`);
  }
}

/** Another process (or another open handle in this one) holds the store's LevelDB lock. */
export class StoreLockedError extends RaftkvError {
  override readonly name = 'StoreLockedError';
  constructor(dir: string, cause: unknown) {
    super(ErrorCode.Unavailable, `${dir} is locked: another process (or handle) has it open`, { cause });
  }
}
