import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { InvalidArgumentError, RaftkvError } from '../common/errors.js';
import {
  Consistency,
  KVService,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetResponse,
  type KVServer,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type TxnRequest,
  type TxnResponse,
  type WatchRequest,
} from '../gen/raftkv/v1/kv.js';
import type { Command, CommandResult } from '../kv/types.js';
import { callScope, type CallScope } from './call-signal.js';
import * as cv from './convert.js';
import type { ServiceDeps } from './deps.js';
import { checkMalformed } from './malformed.js';
import type { Forwarder } from './forward.js';
import type { LeaderRouter } from './router.js';
import { toStatus } from './status.js';
import { serveWatch } from './watch.js';
import { createKvCore } from './kv-core.js';
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
          if (st.code === 13) ctx.deps.logger.warn({ err, path: call.getPath() }, 'request failed');
          callback(st, null);
        },
      )
      .finally(() => scope.dispose());
  };
}

export function createKvServer(ctx: HandlerContext): KVServer {
  const { node, kv } = ctx.deps;
  const header = (revision: number): ResponseHeader => ({ revision, raftTerm: node.leader()?.term ?? node.stats().raft.term, memberId: node.id });

  const core = createKvCore(ctx);
  const write = <Req, Res>(call: ServerUnaryCall<Req, Res>, scope: CallScope, method: (typeof KVService)['put' | 'delete' | 'txn'], cmd: Command, answer: (r: CommandResult) => Res): Promise<Res> =>
    core.write(scope, call.metadata, method as never, call.request, cmd, answer);

  const read = async <Res>(scope: CallScope, consistency: Consistency, local: () => Promise<Res>): Promise<Res> => {
    if (consistency !== Consistency.CONSISTENCY_LINEARIZABLE && consistency !== Consistency.CONSISTENCY_UNSPECIFIED && consistency !== Consistency.CONSISTENCY_STALE) {
      throw new InvalidArgumentError(`consistency ${consistency} is not known`);
    }
    return core.read(scope, consistency !== Consistency.CONSISTENCY_STALE, local);
  };

  return {
    put: unary<PutRequest, PutResponse>(ctx, (req, scope, call) =>
      write(call, scope, KVService.put, { op: { kind: 'put', put: cv.putOp(req) }, requestId: cv.requestIdOf(req.requestId) }, (r) => {
        if (r.kind !== 'put') throw unexpected(r);
        return cv.putResponse(r, header(r.revision));
      }),
    ),
    delete: unary<DeleteRequest, DeleteResponse>(ctx, (req, scope, call) =>
      write(call, scope, KVService.delete, { op: { kind: 'delete', delete: cv.deleteOp(req) }, requestId: cv.requestIdOf(req.requestId) }, (r) => {
        if (r.kind !== 'delete') throw unexpected(r);
        return cv.deleteResponse(r, header(r.revision));
      }),
    ),
    txn: unary<TxnRequest, TxnResponse>(ctx, (req, scope, call) =>
      write(call, scope, KVService.txn, { op: { kind: 'txn', txn: cv.txnOp(req) }, requestId: cv.requestIdOf(req.requestId) }, (r) => {
        if (r.kind !== 'txn') throw unexpected(r);
        return cv.txnResponse(r, header(r.revision));
      }),
    ),
    get: unary<GetRequest, GetResponse>(ctx, (req, scope) => {
      if (req.key.length === 0) throw new InvalidArgumentError('key is empty');
      return read(scope, req.consistency, async () => {
        const { kv: found, revision } = await kv.get(req.key);
        return { header: header(revision), kv: found ? cv.keyValue(found) : undefined };
      });
    }),
    range: unary<RangeRequest, RangeResponse>(ctx, (req, scope) =>
      read(scope, req.consistency, async () => {
        const r = await kv.range(cv.rangeOp(req));
        return cv.rangeResponse(r, header(r.revision));
      }),
    ),
    watch: (call: ServerWritableStream<WatchRequest, unknown>) => serveWatch(ctx, call, header),
  };
}

function unexpected(r: CommandResult): RaftkvError {
  return new RaftkvError('INTERNAL', `the state machine answered "${r.kind}" to a different command`);
}
