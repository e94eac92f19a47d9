import { ErrorCode, RaftkvError } from '../../common/errors.js';

/**
 * Why a frame was refused. Stable strings: they key the per-reason counters in `stats()` and appear in
 * logs, so never rename one.
 */
export const FrameErrorReason = {
  Truncated: 'truncated',
  Oversized: 'oversized',
  BadVersion: 'bad-version',
  BadKind: 'bad-kind',
  BadLength: 'bad-length',
  BadEnum: 'bad-enum',
  BadCount: 'bad-count',
  BadValue: 'bad-value',
  TrailingBytes: 'trailing-bytes',
  Unexpected: 'unexpected-frame',
  Handshake: 'handshake',
  Unencodable: 'unencodable',
} as const;
export type FrameErrorReason = (typeof FrameErrorReason)[keyof typeof FrameErrorReason];

/** A frame or payload that must not be trusted: the connection that carried it gets closed. */
export class FrameError extends RaftkvError {
  override readonly name = 'FrameError';
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super(ErrorCode.Corrupt, `raft frame ${reason}: ${message}`);
  }
}

export function isFrameError(e: unknown): e is FrameError {
  return e instanceof FrameError;
}

/** A snapshot stream that did not complete: reported to the raft driver as onSnapshotStatus(peer, false). */
export class SnapshotTransferError extends RaftkvError {
  override readonly name = 'SnapshotTransferError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unavailable, `snapshot transfer failed: ${message}`, options);
  }
}
