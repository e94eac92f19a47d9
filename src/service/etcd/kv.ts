import type { ServerUnaryCall } from '@grpc/grpc-js';
import {
  KVService,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KVServer,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import { RaftkvError } from '../../common/errors.js';
import type { CommandResult } from '../../kv/types.js';
import type { CallScope } from '../call-signal.js';
import type { KvCore } from '../kv-core.js';
import { requestIdFromMetadata } from '../request-id.js';
import { unary, type HandlerContext } from '../kv-service.js';
import * as cv from './convert.js';
import { rejectionError, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';
import { etcdRange } from './range.js';

/**
 * etcdserverpb.KV over the shared KV core: the same commands, the same replication and forwarding and
 * the same ReadIndex reads as raftkv.v1 KV; only the messages are etcd's.
 */
export function createEtcdKvServer(ctx: HandlerContext, core: KvCore, header: HeaderOf): KVServer {
  const { kv } = ctx.deps;
  // Every call is identified first (auth); the scope then carries the caller to checks and commands.
  const etcdUnary = <Req, Res>(body: (req: Req, scope: CallScope, call: ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    unary<Req, Res>(ctx, async (req, scope, call) => body(req, await ctx.auth.scoped(scope, call), call), toEtcdStatus);

  return {
    range: etcdUnary<RangeRequest, RangeResponse>((req, scope) =>
      core.read(scope, !req.serializable, async () => {
        // Checked after the read fence: a revocation committed before this read is seen.
        ctx.auth.require(scope, 'read', req.key, req.rangeEnd);
        const r = await etcdRange(kv, req);
        return cv.rangeResponse(r, header(r.revision));
      }),
    ),
    put: etcdUnary<PutRequest, PutResponse>((req, scope, call) =>
      core.write(scope, call.metadata, KVService.put, req, { op: { kind: 'put', put: cv.putOp(req) }, requestId: requestIdFromMetadata(call.metadata) }, (r) => cv.putResponse(expect(r, 'put'), header(r.revision))),
    ),
    deleteRange: etcdUnary<DeleteRangeRequest, DeleteRangeResponse>(async (req, scope, call) => {
      const op = cv.deleteOp(req);
      // An empty range deletes nothing and never reaches the state machine, but etcd still checks it.
      if (op === null) ctx.auth.require(scope, 'write', req.key, req.rangeEnd);
      if (op === null) return { header: header(kv.stats().revision), deleted: 0, prevKvs: [] };
      return core.write(scope, call.metadata, KVService.deleteRange, req, { op: { kind: 'delete', delete: op }, requestId: requestIdFromMetadata(call.metadata) }, (r) => cv.deleteResponse(expect(r, 'delete'), header(r.revision)));
    }),
    // Writes are checked by the state machine as it applies them (src/kv/auth-section.ts), against
    // the auth state of that point of the log: a check here, on a follower that has not applied a
    // grant the caller already saw committed, could refuse wrongly. A txn: compares need read, each op
    // of both branches what it does.
    txn: etcdUnary<TxnRequest, TxnResponse>((req, scope, call) =>
      core.write(scope, call.metadata, KVService.txn, req, { op: { kind: 'txn', txn: cv.txnOp(req) }, requestId: requestIdFromMetadata(call.metadata) }, (r) => cv.txnResponse(req, expect(r, 'txn'), header(r.revision))),
    ),
    compact: etcdUnary<CompactionRequest, CompactionResponse>(async (req, scope, call) => {
      // etcd accepts 0 while nothing is compacted (there is nothing to do) and refuses less.
      if (req.revision < 0 || (req.revision === 0 && kv.stats().compactRevision > 0)) throw rejectionError(REJECT_COMPACTED);
      if (req.revision === 0) return { header: header(kv.stats().revision) };
      const cmd = { op: { kind: 'compact' as const, compact: { revision: req.revision } }, requestId: null };
      const res = await core.write(scope, call.metadata, KVService.compact, req, cmd, (r) => (expect(r, 'compact'), { header: header(r.revision) }));
      // `physical`: this node's own store has reclaimed the space too (a forwarded call waited on the
      // leader's as well), as etcd waits for its local backend.
      if (req.physical) await kv.waitCompacted(req.revision, scope.signal);
      return res;
    }),
  };
}

/** RejectReason.Compacted (src/kv/types.ts; a value import of src/kv is not allowed here). */
const REJECT_COMPACTED = 4;

export function expect<K extends CommandResult['kind']>(r: CommandResult, kind: K): Extract<CommandResult, { kind: K }> {
  if (r.kind === 'rejected') throw rejectionError(r.reason);
  if (r.kind !== kind) throw new RaftkvError('INTERNAL', `the state machine answered "${r.kind}" to a ${kind} command`);
  return r as Extract<CommandResult, { kind: K }>;
}
