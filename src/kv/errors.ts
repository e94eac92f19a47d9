import { ErrorCode, RaftkvError } from '../common/errors.js';

/** The watch's next revision is older than the compacted revision (etcd cancels it with compact_revision). */
export class WatchCompactedError extends RaftkvError {
  override readonly name = 'WatchCompactedError';
  constructor(
    readonly startRevision: number,
    /** The compacted revision: the oldest revision that can still be watched. */
    readonly compactRevision: number,
  ) {
    super(
      ErrorCode.NotFound,
      `watch start revision ${startRevision} is compacted; the oldest watchable revision is ${compactRevision}`,
    );
  }
}

/** A snapshot restore replaced the state under an open watch; events may have been skipped. */
export class WatchAbandonedError extends RaftkvError {
  override readonly name = 'WatchAbandonedError';
  constructor(
    /** The revision of the restored state: re-read, then watch from revision + 1. */
    readonly revision: number,
  ) {
    super(ErrorCode.Aborted, `watch abandoned: a snapshot restore replaced the state at revision ${revision}`);
  }
}

/** A read at a revision older than the compacted revision (etcd's ErrCompacted). */
export class RevisionCompactedError extends RaftkvError {
  override readonly name = 'RevisionCompactedError';
  constructor(
    readonly revision: number,
    readonly compactRevision: number,
  ) {
    super(ErrorCode.FailedPrecondition, `required revision ${revision} has been compacted (compacted revision ${compactRevision})`);
  }
}

/** A read at a revision newer than the current one (etcd's ErrFutureRev). */
export class FutureRevisionError extends RaftkvError {
  override readonly name = 'FutureRevisionError';
  constructor(
    readonly revision: number,
    readonly currentRevision: number,
  ) {
    super(ErrorCode.FailedPrecondition, `required revision ${revision} is a future revision (current revision ${currentRevision})`);
  }
}
