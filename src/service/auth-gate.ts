import type { Metadata } from '@grpc/grpc-js';
import { AuthError } from '../auth/errors.js';
import { intervalOf, type KeyInterval } from '../auth/perms.js';
import { AuthState } from '../auth/state.js';
import { AuthFailure } from '../auth/types.js';
import type { CallerStamp } from '../kv/types.js';
import { rememberCaller, type Caller, type CallScope } from './call-signal.js';
import type { ServiceAuth } from './deps.js';
import { mapHandlers, refuseCall, type MethodShape } from './handler-map.js';
import type { ServiceNode } from './node-port.js';
import { FORWARDED_HEADER, FORWARDED_USER_HEADER, TOKEN_HEADER } from './forward.js';
import { toStatus } from './status.js';

const OFF = AuthState.empty();

/** What identify() needs of a call: its metadata and, for --client_cert_auth, its TLS peer. */
export interface IdentifiableCall {
  readonly metadata: Metadata;
  getAuthContext?(): { readonly sslPeerCertificate?: { readonly subject?: { readonly CN?: unknown }; readonly raw?: unknown } };
}

/**
 * Authentication and permission checks of every call, after etcd's auth store: who a call is (a token,
 * a client certificate's CN, or the user a member forwarded it for), and whether that user may read
 * or write a key range, or administer auth. With auth off every call passes as user null.
 */
export class AuthGate {
  constructor(
    private readonly auth: ServiceAuth | undefined,
    private readonly node: Pick<ServiceNode, 'readIndex'>,
  ) {}

  state(): AuthState {
    return this.auth?.state() ?? OFF;
  }

  enabled(): boolean {
    return this.state().enabled;
  }

  /**
   * Identifies the caller. Throws AuthError: userEmpty (no token and no certificate user, etcd's "user
   * name is empty") or invalidToken (unknown or expired).
   */
  async identify(call: IdentifiableCall, signal: AbortSignal): Promise<Caller> {
    const a = this.auth;
    if (a === undefined || !a.state().enabled) return { user: null };
    const md = call.metadata;
    const token = first(md, TOKEN_HEADER);
    const withToken = (user: string): Caller => (token === undefined ? { user } : { user, token });
    const forwarded = md.get(FORWARDED_HEADER).length > 0;
    if (forwarded && a.trustForwardedUser) {
      const user = first(md, FORWARDED_USER_HEADER);
      if (user !== undefined) return withToken(user);
    }
    if (token !== undefined) return withToken(await this.tokenUser(a, token, signal));
    // A member's own certificate is no user: CN identity is only for the caller's own connection.
    if (a.clientCertAuth && !forwarded) {
      const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
      if (typeof cn === 'string' && cn !== '') return { user: cn };
    }
    throw new AuthError(AuthFailure.UserEmpty);
  }

  private async tokenUser(a: ServiceAuth, token: string, signal: AbortSignal): Promise<string> {
    if (a.jwt !== null) {
      const claims = a.jwt.check(token);
      if (claims === null) throw new AuthError(AuthFailure.InvalidToken);
      return claims.username;
    }
    if (a.simple === null) throw new AuthError(AuthFailure.InvalidToken);
    const user = a.simple.user(token);
    if (user !== null) return user;
    // A token made a moment ago through another member may not be applied here yet: catch up to the
    // leader's commit index once (ReadIndex), then look again.
    await this.node.readIndex({ signal });
    const later = a.simple.user(token);
    if (later === null) throw new AuthError(AuthFailure.InvalidToken);
    return later;
  }

  /** Was this call made by a member (a verified peer-CA client certificate)? */
  isMemberCall(call: IdentifiableCall): boolean {
    const raw = call.getAuthContext?.().sslPeerCertificate?.raw;
    return raw instanceof Buffer && this.auth?.isMemberCertificate?.(raw) === true;
  }

  /** The scope of a call, with its caller identified. */
  async scoped(scope: CallScope, call: IdentifiableCall): Promise<CallScope> {
    const caller = await this.identify(call, scope.signal);
    return { ...scope, caller };
  }

  /** The stamp a command carries so the state machine can check the caller again at apply time. */
  stamp(caller: Caller | undefined): CallerStamp | undefined {
    if (caller === undefined) return undefined;
    return { user: caller.user ?? '', authRevision: this.state().revision };
  }

  /** Throws etcd's permission denied unless the caller may `want` every key of [key, rangeEnd). */
  require(scope: CallScope, want: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array = new Uint8Array(0)): void {
    this.requireInterval(scope, want, intervalOf(key, rangeEnd));
  }

  requireInterval(scope: CallScope, want: 'read' | 'write', interval: KeyInterval): void {
    const user = this.userOf(scope);
    if (user === null) return;
    if (!this.state().permitted(user, want, interval)) throw new AuthError(AuthFailure.PermissionDenied);
  }

  /**
   * With auth on, waits until this member has applied everything committed when it was called (a
   * ReadIndex round), so a check that follows sees every grant and revoke the caller could know of.
   */
  async fresh(scope: CallScope): Promise<void> {
    if (this.enabled()) await this.node.readIndex({ signal: scope.signal });
  }

  /** Every key starting with `prefix` (locks and elections: `<name>/`). */
  requirePrefix(scope: CallScope, wants: ReadonlyArray<'read' | 'write'>, prefix: Uint8Array): void {
    const end = prefixEnd(prefix);
    for (const want of wants) this.requireInterval(scope, want, { start: prefix, end });
  }

  /** Auth administration and cluster changes: root only (etcd's IsAdminPermitted). */
  requireRoot(scope: CallScope): void {
    const user = this.userOf(scope);
    if (user === null) return;
    if (!this.state().isRoot(user)) throw new AuthError(AuthFailure.PermissionDenied);
  }

  /** Any existing user (lease grants, keep-alives). */
  requireUser(scope: CallScope): void {
    const user = this.userOf(scope);
    if (user === null) return;
    if (this.state().user(user) === null) throw new AuthError(AuthFailure.PermissionDenied);
  }

  private userOf(scope: CallScope): string | null {
    if (!this.enabled()) return null;
    const c = scope.caller;
    // A handler that forgot to identify its caller must fail closed.
    if (c === undefined || c.user === null) throw new AuthError(AuthFailure.UserEmpty);
    return c.user;
  }
}

/** The first key after every key starting with `prefix`; null: none (to the last key). */
function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i]!;
    if (byte < 0xff) {
      const end = Uint8Array.prototype.slice.call(prefix, 0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return null;
}

function first(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

type AnyHandler = (call: IdentifiableCall & { emit?(event: 'error', err: unknown): unknown }, callback?: (err: unknown, res: null) => void) => unknown;

/**
 * Wraps every handler of a service so that, while auth is on, only a root caller reaches it (the
 * others get the auth error as a gRPC status). With auth off the handlers run as they are.
 */
export function rootOnlyWhenAuthOn<I extends object>(
  def: Readonly<Record<string, MethodShape>>,
  impl: I,
  gate: AuthGate,
  mapError: (err: unknown) => ReturnType<typeof toStatus> = toStatus,
  /** Members (peer-CA certificates) pass too: raftkv's Cluster API is how a node joins. */
  opts: { readonly members?: boolean } = {},
): I {
  return mapHandlers(def, impl, (handler, _name, m) => {
    const h = handler as AnyHandler;
    return (call: Parameters<AnyHandler>[0], callback?: Parameters<AnyHandler>[1]) => {
      if (!gate.enabled() || (opts.members && gate.isMemberCall(call))) return h(call, callback);
      const signal = AbortSignal.timeout(ROOT_CHECK_TIMEOUT_MS);
      gate.identify(call, signal).then((caller) => {
        gate.requireRoot({ signal, deadlineMs: Date.now() + ROOT_CHECK_TIMEOUT_MS, dispose: () => undefined, caller });
        rememberCaller(call, caller);
        return h(call, callback);
      }).catch((err: unknown) => refuseCall(m, call, callback, mapError(err)));
      return undefined;
    };
  });
}

/** Identifying a caller may wait for one ReadIndex round (a token made through another member). */
const ROOT_CHECK_TIMEOUT_MS = 5_000;
