/**
 * Every error a caller can act on is a RaftkvError with a stable `code`. The service layer maps codes
 * to gRPC status codes in exactly one place (src/service/status.ts); the client maps them back.
 */
export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  NotLeader: 'NOT_LEADER',
  NoLeader: 'NO_LEADER',
  ProposalDropped: 'PROPOSAL_DROPPED',
  LeadershipLost: 'LEADERSHIP_LOST',
  TransferInProgress: 'TRANSFER_IN_PROGRESS',
  ConfChangeInProgress: 'CONF_CHANGE_IN_PROGRESS',
  Aborted: 'ABORTED',
  Timeout: 'TIMEOUT',
  Overloaded: 'OVERLOADED',
  Stopped: 'STOPPED',
  Corrupt: 'CORRUPT',
  Unavailable: 'UNAVAILABLE',
  NotFound: 'NOT_FOUND',
  Internal: 'INTERNAL',
  FailedPrecondition: 'FAILED_PRECONDITION',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class RaftkvError extends Error {
  override readonly name: string = 'RaftkvError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class InvalidArgumentError extends RaftkvError {
  override readonly name = 'InvalidArgumentError';
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
  }
}

/** The node is not the leader; `leaderId` is a hint (0 when unknown). */
export class NotLeaderError extends RaftkvError {
  override readonly name = 'NotLeaderError';
  constructor(
    readonly leaderId: number,
    message = leaderId === 0 ? 'no leader is known' : `not the leader; node ${leaderId} leads`,
  ) {
    super(leaderId === 0 ? ErrorCode.NoLeader : ErrorCode.NotLeader, message);
  }
}

export class ProposalDroppedError extends RaftkvError {
  override readonly name = 'ProposalDroppedError';
  constructor(reason: string) {
    super(ErrorCode.ProposalDropped, `proposal dropped: ${reason}`);
  }
}

export class OverloadedError extends RaftkvError {
  override readonly name = 'OverloadedError';
  constructor(what: string, limit: number) {
    super(ErrorCode.Overloaded, `${what} is full (limit ${limit}); retry later`);
  }
}

export class AbortedError extends RaftkvError {
  override readonly name = 'AbortedError';
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super(ErrorCode.Aborted, message, options);
  }
}

export class StoppedError extends RaftkvError {
  override readonly name = 'StoppedError';
  constructor(what = 'node') {
    super(ErrorCode.Stopped, `${what} is stopped`);
  }
}

export class CorruptionError extends RaftkvError {
  override readonly name = 'CorruptionError';
  constructor(message: string) {
    super(ErrorCode.Corrupt, message);
  }
}

/** A log read below the first index: the entries were compacted into a snapshot (send one instead). */
export class CompactedError extends RaftkvError {
  override readonly name = 'CompactedError';
  constructor(index: number, firstIndex: number) {
    super(ErrorCode.NotFound, `log index ${index} is compacted (first index is ${firstIndex})`);
  }
}

/** A log read past the last stored index. */
export class UnavailableError extends RaftkvError {
  override readonly name = 'UnavailableError';
  constructor(index: number, lastIndex: number) {
    super(ErrorCode.NotFound, `log index ${index} is unavailable (last index is ${lastIndex})`);
  }
}

export function isRaftkvError(e: unknown): e is RaftkvError {
  return e instanceof RaftkvError;
}

/** A thrown value as an Error (a non-Error is wrapped, with the value kept as its cause). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(`non-error thrown: ${String(thrown)}`, { cause: thrown });
}
