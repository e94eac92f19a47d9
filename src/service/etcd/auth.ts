import type { ServerUnaryCall } from '@grpc/grpc-js';
import { AuthError } from '../../auth/errors.js';
import { newSimpleToken } from '../../auth/simple-tokens.js';
import { hashPassword, verifyPassword } from '../../auth/password.js';
import { AuthFailure, ROOT, type AuthCommand } from '../../auth/types.js';
import { InvalidArgumentError, RaftkvError } from '../../common/errors.js';
import { AuthLimits } from '../../auth/limits.js';
import {
  AuthService,
  type AuthDisableRequest, type AuthDisableResponse, type AuthEnableRequest, type AuthEnableResponse,
  type AuthenticateRequest, type AuthenticateResponse, type AuthRoleAddRequest, type AuthRoleAddResponse,
  type AuthRoleDeleteRequest, type AuthRoleDeleteResponse, type AuthRoleGetRequest, type AuthRoleGetResponse,
  type AuthRoleGrantPermissionRequest, type AuthRoleGrantPermissionResponse, type AuthRoleListRequest,
  type AuthRoleListResponse, type AuthRoleRevokePermissionRequest, type AuthRoleRevokePermissionResponse,
  type AuthServer, type AuthStatusRequest, type AuthStatusResponse, type AuthUserAddRequest, type AuthUserAddResponse,
  type AuthUserChangePasswordRequest, type AuthUserChangePasswordResponse, type AuthUserDeleteRequest,
  type AuthUserDeleteResponse, type AuthUserGetRequest, type AuthUserGetResponse, type AuthUserGrantRoleRequest,
  type AuthUserGrantRoleResponse, type AuthUserListRequest, type AuthUserListResponse, type AuthUserRevokeRoleRequest,
  type AuthUserRevokeRoleResponse, type ResponseHeader,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import type { Command, CommandResult } from '../../kv/types.js';
import type { CallScope } from '../call-signal.js';
import type { ServiceAuth } from '../deps.js';
import type { UnaryMethod } from '../forward.js';
import type { KvCore } from '../kv-core.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { authError, EtcdError, rejectionError, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';

/** Counts simple tokens made on this member (the part after the dot). */
let tokenCounter = 0;
/** A well-formed hash that matches no password (checked for unknown users). */
const NO_USER_HASH = `scrypt$${2 ** 15}$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
/** scrypt runs in flight on this member (logins and password changes). */
let hashesInFlight = 0;

/**
 * Runs one scrypt hash or check within the member's bound (a flood of logins must not queue
 * without limit on the thread pool) and refuses passwords beyond the size limit before hashing.
 */
async function boundedHash<T>(password: string, work: () => Promise<T>): Promise<T> {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes > AuthLimits.passwordBytesMax) throw new InvalidArgumentError(`password is ${bytes} bytes; the limit is ${AuthLimits.passwordBytesMax}`);
  if (hashesInFlight >= AuthLimits.passwordHashesInFlightMax) throw new EtcdError('tooManyRequests');
  hashesInFlight++;
  try {
    return await work();
  } finally {
    hashesInFlight--;
  }
}

/**
 * etcd's Auth service. Every change is a raft command applied by the state machine
 * (src/kv/auth-section.ts), made on the leader: a follower forwards the caller's request there, the
 * leader hashes a new password (scrypt, src/auth/password.ts) and proposes. Reads (UserGet, RoleList,
 * ...) are linearizable on the member that received them. Administration needs root once auth is on.
 */
export function createEtcdAuthServer(ctx: HandlerContext, core: KvCore, header: HeaderOf, auth: ServiceAuth): AuthServer {
  const gate = ctx.auth;
  const hdr = (): ResponseHeader => header(ctx.deps.kv.stats().revision);
  const etcdUnary = <Req, Res>(body: (req: Req, scope: CallScope, call: ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    unary<Req, Res>(ctx, async (req, scope, call) => body(req, await gate.scoped(scope, call), call), toEtcdStatus);

  /** Proposes an auth command on the leader (`make` runs there: it may hash a password) as the caller. */
  const change = <Req, Res>(scope: CallScope, call: ServerUnaryCall<Req, Res>, method: UnaryMethod<Req, Res>, make: () => Promise<AuthCommand> | AuthCommand, answer: (r: CommandResult) => Res): Promise<Res> =>
    ctx.router.onLeader(scope, call.metadata, method, call.request, async (signal) => {
      const cmd: Command = { op: { kind: 'auth', auth: await make() }, requestId: null, ...(scope.caller ? { caller: gate.stamp(scope.caller)! } : {}) };
      ctx.deps.kv.validateCommand(cmd);
      const { result } = await ctx.deps.node.apply(ctx.deps.kv.encodeCommand(cmd), { signal });
      return answer(settled(result as CommandResult));
    });
  const admin = <Req extends object, Res>(method: UnaryMethod<Req, Res>, make: (req: Req) => Promise<AuthCommand> | AuthCommand) =>
    etcdUnary<Req, Res>((req, scope, call) => {
      gate.requireRoot(scope);
      return change(scope, call, method, () => make(req), () => ({ header: hdr() }) as Res);
    });
  /** A linearizable read of the auth state, root only. */
  const adminRead = <Req, Res>(read: (req: Req) => Res) =>
    etcdUnary<Req, Res>((req, scope) => {
      gate.requireRoot(scope);
      return core.read(scope, true, async () => read(req));
    });

  const hashOf = async (password: string, noPassword: boolean): Promise<string> => (noPassword ? '' : boundedHash(password, () => hashPassword(password)));

  return {
    authEnable: etcdUnary<AuthEnableRequest, AuthEnableResponse>((_req, scope, call) =>
      change(scope, call, AuthService.authEnable, () => ({ kind: 'enable' }), () => ({ header: hdr() })),
    ),
    authDisable: admin<AuthDisableRequest, AuthDisableResponse>(AuthService.authDisable, () => ({ kind: 'disable' })),
    authStatus: etcdUnary<AuthStatusRequest, AuthStatusResponse>((_req, scope) =>
      core.read(scope, true, async () => ({ header: hdr(), enabled: gate.state().enabled, authRevision: gate.state().revision })),
    ),
    authenticate: unary<AuthenticateRequest, AuthenticateResponse>(ctx, (req, scope, call) => authenticate(ctx, core, auth, hdr, req, scope, call), toEtcdStatus),
    userAdd: admin<AuthUserAddRequest, AuthUserAddResponse>(AuthService.userAdd, async (req) => {
      if (req.name === '') throw new AuthError(AuthFailure.UserEmpty);
      return { kind: 'userAdd', name: req.name, passwordHash: await hashOf(req.password, req.options?.noPassword === true) };
    }),
    userDelete: admin<AuthUserDeleteRequest, AuthUserDeleteResponse>(AuthService.userDelete, (req) => ({ kind: 'userDelete', name: req.name })),
    userChangePassword: admin<AuthUserChangePasswordRequest, AuthUserChangePasswordResponse>(AuthService.userChangePassword, async (req) => {
      if (gate.state().user(req.name) === null) throw new AuthError(AuthFailure.UserNotFound); // no hash for nobody
      return { kind: 'userChangePassword', name: req.name, passwordHash: await boundedHash(req.password, () => hashPassword(req.password)) };
    }),
    userGrantRole: admin<AuthUserGrantRoleRequest, AuthUserGrantRoleResponse>(AuthService.userGrantRole, (req) => ({ kind: 'userGrantRole', name: req.user, role: req.role })),
    userRevokeRole: admin<AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse>(AuthService.userRevokeRole, (req) => ({ kind: 'userRevokeRole', name: req.name, role: req.role })),
    roleAdd: admin<AuthRoleAddRequest, AuthRoleAddResponse>(AuthService.roleAdd, (req) => ({ kind: 'roleAdd', name: req.name })),
    roleDelete: admin<AuthRoleDeleteRequest, AuthRoleDeleteResponse>(AuthService.roleDelete, (req) => ({ kind: 'roleDelete', name: req.role })),
    roleGrantPermission: admin<AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse>(AuthService.roleGrantPermission, (req) => {
      const p = req.perm;
      if (p === undefined) throw new EtcdError('permissionNotGiven');
      const type = p.permType as number;
      if (type !== 0 && type !== 1 && type !== 2) throw new EtcdError('permissionNotGiven');
      return { kind: 'roleGrantPermission', name: req.name, perm: { type: type, key: p.key, rangeEnd: p.rangeEnd } };
    }),
    roleRevokePermission: admin<AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse>(AuthService.roleRevokePermission, (req) => ({ kind: 'roleRevokePermission', name: req.role, key: req.key, rangeEnd: req.rangeEnd })),
    userGet: adminRead<AuthUserGetRequest, AuthUserGetResponse>((req) => {
      const u = gate.state().user(req.name);
      if (u === null) throw new AuthError(AuthFailure.UserNotFound);
      return { header: hdr(), roles: [...u.roles] };
    }),
    userList: adminRead<AuthUserListRequest, AuthUserListResponse>(() => ({ header: hdr(), users: gate.state().userNames() })),
    roleGet: adminRead<AuthRoleGetRequest, AuthRoleGetResponse>((req) => {
      const r = gate.state().role(req.role);
      // The root role may be held before it exists as a role object: it grants everything.
      if (r === null && req.role !== ROOT) throw new AuthError(AuthFailure.RoleNotFound);
      return { header: hdr(), perm: (r?.perms ?? []).map((p) => ({ permType: p.type, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) })) };
    }),
    roleList: adminRead<AuthRoleListRequest, AuthRoleListResponse>(() => ({ header: hdr(), roles: gate.state().roleNames() })),
  };
}

/** The outcome of an applied auth command, or the etcd error it failed with. */
function settled(r: CommandResult): CommandResult {
  if (r.kind === 'rejected') throw rejectionError(r.reason);
  if (r.kind === 'invalid') throw new RaftkvError('INVALID_ARGUMENT', r.message);
  if (r.kind === 'auth' && r.failure !== null) throw authError(r.failure);
  return r;
}

/**
 * Authenticate. Simple tokens: on the leader, check the password, make a token and replicate it (an
 * `authenticate` command: every member learns it as it applies it). JWT: check the password after a
 * linearizable fence here and sign; nothing is replicated.
 */
async function authenticate(ctx: HandlerContext, core: KvCore, auth: ServiceAuth, hdr: () => ResponseHeader, req: AuthenticateRequest, scope: CallScope, call: ServerUnaryCall<AuthenticateRequest, AuthenticateResponse>): Promise<AuthenticateResponse> {
  const check = async (): Promise<number> => {
    const st = ctx.auth.state();
    if (!st.enabled) throw new AuthError(AuthFailure.AuthNotEnabled);
    const u = st.user(req.name);
    // The same answer for an unknown user and a wrong password: a caller cannot probe for names.
    // An unknown user costs the same scrypt run as a wrong password: timing does not reveal names.
    const stored = u?.passwordHash ?? NO_USER_HASH;
    if (!(await boundedHash(req.password, () => verifyPassword(req.password, stored))) || u === null) throw new AuthError(AuthFailure.AuthFailed);
    return st.revision;
  };
  const jwt = auth.jwt;
  if (jwt !== null) {
    const sign = (): Promise<AuthenticateResponse> => core.read(scope, true, async () => {
      const revision = await check();
      return { header: hdr(), token: jwt.make(req.name, revision) };
    });
    // A member given only the public key verifies tokens; the leader (with the private key) signs.
    return jwt.canSign() ? sign() : ctx.router.onLeader(scope, call.metadata, AuthService.authenticate, req, async () => {
      if (!jwt.canSign()) throw new RaftkvError('FAILED_PRECONDITION', 'neither this member nor the leader has the JWT private key (--auth_token jwt,priv-key=...)');
      return sign();
    });
  }
  return ctx.router.onLeader(scope, call.metadata, AuthService.authenticate, req, async (signal) => {
    await check();
    const token = newSimpleToken(++tokenCounter);
    const cmd: Command = { op: { kind: 'auth', auth: { kind: 'authenticate', name: req.name, token } }, requestId: null };
    const { result } = await ctx.deps.node.apply(ctx.deps.kv.encodeCommand(cmd), { signal });
    settled(result as CommandResult);
    return { header: hdr(), token };
  });
}
