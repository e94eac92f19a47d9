import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { ErrorCode, RaftkvError } from '../common/errors.js';

/** Trailing metadata: the RaftkvError code, so a forwarder and clients can act on the exact cause. */
export const ERROR_CODE_HEADER = 'raftkv-error-code';
/** Trailing metadata: the leader id hint of a NOT_LEADER error. */
export const LEADER_ID_HEADER = 'raftkv-leader-id';

/** The one mapping from RaftkvError codes to gRPC status codes (DESIGN.md "Service API"). */
const GRPC_STATUS: Record<ErrorCode, status> = {
  [ErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorCode.NotLeader]: status.UNAVAILABLE,
  [ErrorCode.NoLeader]: status.UNAVAILABLE,
  [ErrorCode.ProposalDropped]: status.UNAVAILABLE,
  [ErrorCode.LeadershipLost]: status.UNAVAILABLE,
  [ErrorCode.TransferInProgress]: status.UNAVAILABLE,
  [ErrorCode.ConfChangeInProgress]: status.ABORTED,
  [ErrorCode.Aborted]: status.CANCELLED,
  [ErrorCode.Timeout]: status.DEADLINE_EXCEEDED,
  [ErrorCode.Overloaded]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.Stopped]: status.UNAVAILABLE,
  [ErrorCode.Corrupt]: status.DATA_LOSS,
  [ErrorCode.Unavailable]: status.UNAVAILABLE,
  [ErrorCode.NotFound]: status.NOT_FOUND,
  [ErrorCode.Internal]: status.INTERNAL,
  [ErrorCode.FailedPrecondition]: status.FAILED_PRECONDITION,
};

export function grpcStatusOf(code: ErrorCode): status {
  return GRPC_STATUS[code];
}

/** Codes after which the operation certainly did not take effect, so forwarding again is safe. */
const RETRYABLE = new Set<string>([ErrorCode.NotLeader, ErrorCode.NoLeader, ErrorCode.LeadershipLost, ErrorCode.TransferInProgress]);

export function isRetryableCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE.has(code);
}

/** A gRPC status for any thrown value; errors that are not RaftkvErrors become INTERNAL. */
export function toStatus(err: unknown): Partial<StatusObject> & { code: status; details: string } {
  if (isForwardedError(err)) {
    if (raftkvCodeOf(err) !== undefined) return { code: err.code, details: err.details, metadata: err.metadata };
    return toStatus(fromForwardingFailure(err));
  }
  const metadata = new Metadata();
  if (err instanceof RaftkvError) {
    metadata.set(ERROR_CODE_HEADER, err.code);
    const leaderId = (err as { leaderId?: unknown }).leaderId;
    if (typeof leaderId === 'number' && leaderId > 0) metadata.set(LEADER_ID_HEADER, String(leaderId));
    return { code: GRPC_STATUS[err.code], details: detailsOf(err), metadata };
  }
  metadata.set(ERROR_CODE_HEADER, ErrorCode.Internal);
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, metadata };
}

function detailsOf(err: RaftkvError): string {
  if (err.code === ErrorCode.NoLeader) return `no leader is known (the cluster may be electing one or has lost its quorum); retry: ${err.message}`;
  return err.message;
}

/** An error returned by the leader we forwarded to: passed back to our caller unchanged. */
export function isForwardedError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' && 'metadata' in err && err.metadata instanceof Metadata;
}

/**
 * A forwarded call that failed without our error code failed in grpc-js itself (no connection, a
 * dropped connection, a deadline, a message over the size limit): its texts ("No connection
 * established. Last error: ... Resolution note: ") are not ours to pass on, so they become our typed
 * errors, with the cause kept short.
 */
function fromForwardingFailure(err: ServiceError): RaftkvError {
  const cause = err.details.replace(/\.?\s*Resolution note:\s*$/, '').trim();
  switch (err.code) {
    case status.UNAVAILABLE:
      return new RaftkvError(ErrorCode.Unavailable, `could not reach the leader to forward the request (${cause}); retry`);
    case status.DEADLINE_EXCEEDED:
      return new RaftkvError(ErrorCode.Timeout, 'the request did not finish before its deadline while forwarded to the leader');
    case status.CANCELLED:
      return new RaftkvError(ErrorCode.Aborted, 'the forwarded request was cancelled');
    case status.RESOURCE_EXHAUSTED:
      return new RaftkvError(ErrorCode.InvalidArgument, `the leader refused the forwarded request as too large (${cause})`);
    default:
      return new RaftkvError(ErrorCode.Internal, `forwarding to the leader failed with gRPC status ${status[err.code] ?? err.code} (${cause})`);
  }
}

/** The RaftkvError code a peer put in the trailing metadata of its error, if any. */
export function raftkvCodeOf(err: ServiceError): string | undefined {
  const v = err.metadata.get(ERROR_CODE_HEADER)[0];
  return typeof v === 'string' ? v : undefined;
}
