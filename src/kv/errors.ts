import { ErrorCode, RaftkvError } from '../common/errors.js';

/** The requested start revision is older than the kept watch history. */
export class WatchCompactedError extends RaftkvError {
  override readonly name = 'WatchCompactedError';
  constructor(
    readonly startRevision: number,
    /** The oldest revision that can still be watched. */
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

/** A watcher fell more than its buffer behind the live events and was ended. */
export class WatcherOverflowError extends RaftkvError {
  override readonly name = 'WatcherOverflowError';
  constructor(readonly bufferEventsMax: number) {
    super(ErrorCode.Overloaded, `watcher too slow: more than ${bufferEventsMax} undelivered events; watch again`);
  }
}
