import { ErrorCode, RaftkvError } from '../common/errors.js';
import { AuthFailure } from './types.js';

/** raftkv's code for each failure; etcd's API answers with its own code and text instead. */
const CODES: Record<AuthFailure, ErrorCode> = {
  [AuthFailure.RootUserNotExist]: ErrorCode.FailedPrecondition,
  [AuthFailure.RootRoleNotGranted]: ErrorCode.FailedPrecondition,
  [AuthFailure.UserExists]: ErrorCode.FailedPrecondition,
  [AuthFailure.UserNotFound]: ErrorCode.FailedPrecondition,
  [AuthFailure.RoleExists]: ErrorCode.FailedPrecondition,
  [AuthFailure.RoleNotFound]: ErrorCode.FailedPrecondition,
  [AuthFailure.RoleNotGranted]: ErrorCode.FailedPrecondition,
  [AuthFailure.PermissionNotGranted]: ErrorCode.FailedPrecondition,
  [AuthFailure.AuthNotEnabled]: ErrorCode.FailedPrecondition,
  [AuthFailure.InvalidAuthManagement]: ErrorCode.InvalidArgument,
  [AuthFailure.UserEmpty]: ErrorCode.InvalidArgument,
  [AuthFailure.RoleEmpty]: ErrorCode.InvalidArgument,
  [AuthFailure.AuthFailed]: ErrorCode.InvalidArgument,
  [AuthFailure.OldRevision]: ErrorCode.InvalidArgument,
  [AuthFailure.PermissionDenied]: ErrorCode.FailedPrecondition,
  [AuthFailure.InvalidToken]: ErrorCode.FailedPrecondition,
  [AuthFailure.TooMany]: ErrorCode.Overloaded,
};

/** An auth command or check failed; `failure` is the stable reason (src/auth/types.ts). */
export class AuthError extends RaftkvError {
  override readonly name = 'AuthError';
  constructor(readonly failure: AuthFailure, detail = failure) {
    super(CODES[failure], detail);
  }
}
