import { status as GrpcStatus, type Metadata } from '@grpc/grpc-js';
import { ErrorCode, type RaftkvError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { ClientError } from './errors.js';

/**
 * The one place where gRPC statuses become typed errors. The server may attach the stable error code
 * in the `raftkv-error-code` trailer (and a leader hint in `raftkv-leader-id`); when present it wins,
 * because several codes share one gRPC status. Otherwise the status decides.
 */
export const ERROR_CODE_METADATA_KEY = 'raftkv-error-code';
export const LEADER_ID_METADATA_KEY = 'raftkv-leader-id';

const STATUS_TO_CODE: ReadonlyMap<number, ErrorCode> = new Map([
  [GrpcStatus.INVALID_ARGUMENT, ErrorCode.InvalidArgument],
  [GrpcStatus.OUT_OF_RANGE, ErrorCode.InvalidArgument],
  [GrpcStatus.NOT_FOUND, ErrorCode.NotFound],
  [GrpcStatus.UNAVAILABLE, ErrorCode.Unavailable],
  [GrpcStatus.DEADLINE_EXCEEDED, ErrorCode.Timeout],
  [GrpcStatus.CANCELLED, ErrorCode.Aborted],
  [GrpcStatus.ABORTED, ErrorCode.ConfChangeInProgress],
  [GrpcStatus.RESOURCE_EXHAUSTED, ErrorCode.Overloaded],
  [GrpcStatus.FAILED_PRECONDITION, ErrorCode.InvalidArgument],
  [GrpcStatus.DATA_LOSS, ErrorCode.Corrupt],
]);

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** A gRPC status error as grpc-js reports it (ServiceError / StatusObject). */
interface GrpcErrorLike {
  code: GrpcStatus;
  details?: string;
  message?: string;
  metadata?: Metadata;
}

function isGrpcErrorLike(e: unknown): e is GrpcErrorLike {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number';
}

/** A server-side error with the stable code and, when the server knows one, the leader's id. */
export class ServerError extends ClientError {
  override readonly name: string = 'ServerError';
  constructor(code: ErrorCode, message: string, grpcCode: number, readonly leaderIdHint: number) {
    super(code, message, grpcCode);
  }
}

/**
 * The server does not serve this call (gRPC UNIMPLEMENTED), e.g. a member of an older release; code
 * FAILED_PRECONDITION, never retried (every member of one release answers the same).
 */
export class UnimplementedError extends ServerError {
  override readonly name = 'UnimplementedError';
  constructor(details: string) {
    super(ErrorCode.FailedPrecondition, `not supported by the server: ${details}`, GrpcStatus.UNIMPLEMENTED, 0);
  }
}

/**
 * etcd's own errors that come without raftkv's code trailer and whose gRPC status says too little:
 * the concurrency recipes answer with status UNKNOWN, and clients of etcd match on these texts.
 */
const ETCD_TEXTS: ReadonlyMap<string, ErrorCode> = new Map([
  ['election: no leader', ErrorCode.NotFound],
  ['election: not leader', ErrorCode.FailedPrecondition],
  ['election: session is expired', ErrorCode.NotFound],
  ['mutex: session is expired', ErrorCode.NotFound],
  ['"leader" field must be provided', ErrorCode.InvalidArgument],
  ['etcdserver: mvcc: required revision has been compacted', ErrorCode.NotFound],
  ['etcdserver: mvcc: required revision is a future revision', ErrorCode.InvalidArgument],
]);

export function errorFromGrpc(e: unknown): RaftkvError {
  if (e instanceof ClientError) return e;
  if (!isGrpcErrorLike(e)) {
    return new ClientError(ErrorCode.Internal, e instanceof Error ? e.message : String(e), null, { cause: e });
  }
  const fromMeta = metadataString(e.metadata, ERROR_CODE_METADATA_KEY);
  const ours = fromMeta !== null && KNOWN_CODES.has(fromMeta);
  const leader = Number(metadataString(e.metadata, LEADER_ID_METADATA_KEY) ?? '0');
  const details = cleanDetails(e.details !== undefined && e.details !== '' ? e.details : (e.message ?? `gRPC status ${e.code}`));
  if (!ours && e.code === GrpcStatus.RESOURCE_EXHAUSTED) {
    // Without our code it is grpc-js refusing a message over its size limit: the same on every attempt.
    return new ClientError(ErrorCode.InvalidArgument, `request or response too large: ${details} (limits: key ${Limits.keyBytesMax}, value ${Limits.valueBytesMax}, request ${Limits.requestBytesMax} bytes)`, e.code, { cause: e });
  }
  if (!ours && e.code === GrpcStatus.UNIMPLEMENTED) return new UnimplementedError(details);
  const code: ErrorCode = ours ? (fromMeta as ErrorCode) : (ETCD_TEXTS.get(details) ?? STATUS_TO_CODE.get(e.code) ?? ErrorCode.Internal);
  return new ServerError(code, details, e.code, Number.isSafeInteger(leader) ? leader : 0);
}

/** grpc-js ends connection errors with "Resolution note: " and nothing after it when DNS had nothing to say. */
function cleanDetails(details: string): string {
  return details.replace(/\.?\s*Resolution note:\s*$/, '').trim();
}

function metadataString(md: Metadata | undefined, key: string): string | null {
  if (md === undefined || typeof md.get !== 'function') return null;
  const v = md.get(key)[0];
  if (v === undefined) return null;
  return typeof v === 'string' ? v : v.toString('utf8');
}

/**
 * Codes after which another attempt (on the next endpoint, after a backoff) may succeed. A write is
 * only ever retried with its original request id, so a retry after an ambiguous failure applies once.
 */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.Unavailable,
  ErrorCode.NoLeader,
  ErrorCode.NotLeader,
  ErrorCode.ProposalDropped,
  ErrorCode.LeadershipLost,
  ErrorCode.TransferInProgress,
  ErrorCode.ConfChangeInProgress,
  ErrorCode.Overloaded,
  ErrorCode.Stopped,
]);

export function isRetryable(e: RaftkvError): boolean {
  if (e instanceof ClientError && !(e instanceof ServerError)) return false;
  return RETRYABLE.has(e.code);
}
