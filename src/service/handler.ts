import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { callScope, type CallScope } from './call-signal.js';
import type { ServiceDeps } from './deps.js';
import type { Forwarder } from './forward.js';
import { checkMalformed } from './malformed.js';
import type { LeaderRouter } from './router.js';
import { toStatus } from './status.js';
import type { AuthGate } from './auth-gate.js';

export interface HandlerContext {
  readonly deps: ServiceDeps;
  readonly router: LeaderRouter;
  /** Calls to other members (fan-outs such as the gossip keyring); the router forwards through it too. */
  readonly forwarder: Forwarder;
  readonly requestTimeoutMs: number;
  /** Aborted when the server starts shutting down. */
  readonly shutdown: AbortSignal;
  /** Who calls, and what they may do (src/service/auth-gate.ts). */
  readonly auth: AuthGate;
}

/**
 * Runs a unary handler body with a call-scoped signal and maps any error to a gRPC status with
 * `mapError` (the etcd API passes its own mapping).
 */
export function unary<Req, Res>(ctx: HandlerContext, body: (req: Req, scope: CallScope, call: ServerUnaryCall<Req, Res>) => Promise<Res>, mapError: (err: unknown) => ReturnType<typeof toStatus> = toStatus) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const scope = callScope(call, ctx.requestTimeoutMs, ctx.shutdown);
    Promise.resolve()
      .then(() => {
        checkMalformed(call.request);
        return body(call.request, scope, call);
      })
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const st = mapError(err);
          if (st.code === status.INTERNAL) ctx.deps.logger.warn({ err, path: call.getPath() }, 'request failed');
          callback(st, null);
        },
      )
      .finally(() => scope.dispose());
  };
}
