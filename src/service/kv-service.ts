import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
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
import type { CallScope } from './call-signal.js';
import { unary, type HandlerContext } from './handler.js';
import * as cv from './convert.js';
import { serveWatch } from './watch.js';
import { createKvCore } from './kv-core.js';

// The handler context and `unary` live in handler.ts (kv-core.ts and watch.ts need them without
// importing this file back); re-exported here for the handlers that still import them from here.
export { unary, type HandlerContext } from './handler.js';

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
    watch: (call: ServerWritableStream<WatchRequest, unknown>) => {
      // serveWatch ends the call itself on every error it knows; anything else must not go unhandled.
      serveWatch(ctx, call, header).catch((err: unknown) => ctx.deps.logger.warn({ err }, 'watch stream failed'));
    },
  };
}

function unexpected(r: CommandResult): RaftkvError {
  return new RaftkvError('INTERNAL', `the state machine answered "${r.kind}" to a different command`);
}
