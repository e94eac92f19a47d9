import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import { ErrorCode, RaftkvError } from '../../common/errors.js';
import type { RejectReason } from '../../kv/types.js';
import { AuthError } from '../../auth/errors.js';
import type { AuthFailure } from '../../auth/types.js';
import { ETCD_ERROR_HEADER, isForwardedError, toStatus } from '../status.js';

/**
 * etcd's client-visible errors (etcd api/v3rpc/rpctypes): clients such as Go's clientv3 (etcdctl) and
 * npm etcd3 match on these exact texts, so they are sent as the status details with these codes.
 */
export const EtcdErrors = {
  keyNotProvided: [status.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
  keyNotFound: [status.INVALID_ARGUMENT, 'etcdserver: key not found'],
  valueProvided: [status.INVALID_ARGUMENT, 'etcdserver: value is provided'],
  leaseProvided: [status.INVALID_ARGUMENT, 'etcdserver: lease is provided'],
  tooManyOps: [status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'],
  duplicateKey: [status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
  requestTooLarge: [status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  compacted: [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
  futureRev: [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
  leaseNotFound: [status.NOT_FOUND, 'etcdserver: requested lease not found'],
  leaseExists: [status.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
  leaseTtlTooLarge: [status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'],
  memberNotFound: [status.NOT_FOUND, 'etcdserver: member not found'],
  memberBadURLs: [status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'],
  memberExists: [status.FAILED_PRECONDITION, 'etcdserver: member ID already exist'],
  peerURLExists: [status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'],
  notEnoughStarted: [status.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members'],
  tooManyLearners: [status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'],
  memberNotLearner: [status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'],
  learnerNotReady: [status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'],
  badLeaderTransferee: [status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'],
  // raftkv has no space quota and no corruption check that raises alarms, so none can be set.
  alarmActivate: [status.UNIMPLEMENTED, 'raftkv: alarms cannot be activated: raftkv has no space quota and raises no alarms (GET and DEACTIVATE work)'],
  alarmAction: [status.INVALID_ARGUMENT, 'etcdserver: unknown alarm action or type'],
  notLeader: [status.FAILED_PRECONDITION, 'etcdserver: not leader'],
  noLeader: [status.UNAVAILABLE, 'etcdserver: no leader'],
  notSupportedForLearner: [status.UNAVAILABLE, 'etcdserver: rpc not supported for learner'],
  leaderChanged: [status.UNAVAILABLE, 'etcdserver: leader changed'],
  stopped: [status.UNAVAILABLE, 'etcdserver: server stopped'],
  timeout: [status.UNAVAILABLE, 'etcdserver: request timed out'],
  tooManyRequests: [status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'],
  corrupt: [status.DATA_LOSS, 'etcdserver: corrupt cluster'],
  // Auth (etcd's rpctypes; the codes checked against etcd 3.4).
  userEmpty: [status.INVALID_ARGUMENT, 'etcdserver: user name is empty'],
  roleEmpty: [status.INVALID_ARGUMENT, 'etcdserver: role name is empty'],
  authFailed: [status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password'],
  permissionNotGiven: [status.INVALID_ARGUMENT, 'etcdserver: permission not given'],
  invalidAuthMgmt: [status.INVALID_ARGUMENT, 'etcdserver: invalid auth management'],
  authOldRevision: [status.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old'],
  rootUserNotExist: [status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'],
  rootRoleNotGranted: [status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'],
  userExists: [status.FAILED_PRECONDITION, 'etcdserver: user name already exists'],
  userNotFound: [status.FAILED_PRECONDITION, 'etcdserver: user name not found'],
  roleExists: [status.FAILED_PRECONDITION, 'etcdserver: role name already exists'],
  roleNotFound: [status.FAILED_PRECONDITION, 'etcdserver: role name not found'],
  roleNotGranted: [status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'],
  permissionNotGranted: [status.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'],
  authNotEnabled: [status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'],
  permissionDenied: [status.PERMISSION_DENIED, 'etcdserver: permission denied'],
  invalidAuthToken: [status.UNAUTHENTICATED, 'etcdserver: invalid auth token'],
  // No etcd counterpart: a bounded part of the auth state is full.
  authTooMany: [status.RESOURCE_EXHAUSTED, 'etcdserver: too many users, roles or permissions'],
  // The concurrency recipes' errors, which etcd's Lock and Election servers return as plain errors
  // (gRPC code Unknown), with clientv3/concurrency's texts.
  lockSessionExpired: [status.UNKNOWN, 'mutex: session is expired'],
  electionNotLeader: [status.UNKNOWN, 'election: not leader'],
  electionNoLeader: [status.UNKNOWN, 'election: no leader'],
  electionSessionExpired: [status.UNKNOWN, 'election: session is expired'],
  missingLeaderKey: [status.UNKNOWN, '"leader" field must be provided'],
} as const satisfies Record<string, readonly [status, string]>;

export type EtcdErrorName = keyof typeof EtcdErrors;

/** An error that reaches the client as one of etcd's own (code, text) pairs. */
export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  readonly grpcCode: status;
  constructor(readonly which: EtcdErrorName) {
    const [code, text] = EtcdErrors[which];
    super(text);
    this.grpcCode = code;
  }
}

/** A command the state machine refused because of the state, as etcd's error for it. */
export function rejectionError(reason: RejectReason): EtcdError {
  return new EtcdError(REJECTIONS[reason]);
}

/** By RejectReason's numbers (src/kv/types.ts; a value import of src/kv is not allowed here). */
const REJECTIONS: Record<RejectReason, EtcdErrorName> = { 1: 'leaseNotFound', 2: 'leaseExists', 3: 'keyNotFound', 4: 'compacted', 5: 'futureRev', 6: 'permissionDenied', 7: 'authOldRevision' };

/** Each auth failure (src/auth/types.ts AuthFailure) as etcd's error. */
const AUTH_FAILURES: Record<AuthFailure, EtcdErrorName> = {
  rootUserNotExist: 'rootUserNotExist',
  rootRoleNotGranted: 'rootRoleNotGranted',
  userExists: 'userExists',
  userNotFound: 'userNotFound',
  roleExists: 'roleExists',
  roleNotFound: 'roleNotFound',
  roleNotGranted: 'roleNotGranted',
  permissionNotGranted: 'permissionNotGranted',
  invalidAuthMgmt: 'invalidAuthMgmt',
  userEmpty: 'userEmpty',
  roleEmpty: 'roleEmpty',
  authFailed: 'authFailed',
  authNotEnabled: 'authNotEnabled',
  permissionDenied: 'permissionDenied',
  invalidToken: 'invalidAuthToken',
  authOldRevision: 'authOldRevision',
  authTooMany: 'authTooMany',
};

/** An auth failure, from the state machine or from a check, as etcd's error. */
export function authError(failure: AuthFailure): EtcdError {
  return new EtcdError(AUTH_FAILURES[failure]);
}

/** src/kv's typed read errors by name (a value import of src/kv is not allowed here). */
const BY_KV_ERROR_NAME: Partial<Record<string, EtcdErrorName>> = { RevisionCompactedError: 'compacted', FutureRevisionError: 'futureRev' };

/** raftkv's error codes as the etcd error a client of etcd expects in the same situation. */
const BY_RAFTKV_CODE: Partial<Record<ErrorCode, EtcdErrorName>> = {
  [ErrorCode.NotLeader]: 'noLeader',
  [ErrorCode.NoLeader]: 'noLeader',
  [ErrorCode.ProposalDropped]: 'leaderChanged',
  [ErrorCode.LeadershipLost]: 'leaderChanged',
  [ErrorCode.TransferInProgress]: 'leaderChanged',
  [ErrorCode.Timeout]: 'timeout',
  [ErrorCode.Overloaded]: 'tooManyRequests',
  [ErrorCode.Stopped]: 'stopped',
  [ErrorCode.Corrupt]: 'corrupt',
};

/**
 * The one mapping from anything an etcd handler throws to a gRPC status. etcd's own errors keep
 * their text; raftkv errors with an etcd counterpart take its text (the raftkv code still travels in
 * the trailing metadata, so forwarding and retries work as for raftkv.v1); the rest, mostly
 * INVALID_ARGUMENT with a message naming the field, keep raftkv's status.
 */
export function toEtcdStatus(err: unknown): Partial<StatusObject> & { code: status; details: string } {
  if (err instanceof AuthError) return toEtcdStatus(authError(err.failure));
  if (err instanceof EtcdError) {
    // Marked, so that a follower that forwarded the request passes it back to the client unchanged.
    const metadata = new Metadata();
    metadata.set(ETCD_ERROR_HEADER, '1');
    return { code: err.grpcCode, details: err.message, metadata };
  }
  if (isForwardedError(err)) return toStatus(err);
  const base = toStatus(err);
  const byName = err instanceof RaftkvError ? BY_KV_ERROR_NAME[err.name] : undefined;
  if (byName !== undefined) return toEtcdStatus(new EtcdError(byName));
  if (err instanceof RaftkvError) {
    const which = BY_RAFTKV_CODE[err.code];
    if (which !== undefined) return { ...base, code: EtcdErrors[which][0], details: EtcdErrors[which][1] };
  }
  return base;
}
