import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type {
  CampaignRequest,
  CampaignResponse,
  ElectionServer,
  LeaderKey,
  LeaderRequest,
  LeaderResponse,
  ProclaimRequest,
  ProclaimResponse,
  ResignRequest,
  ResignResponse,
} from '../../gen/etcd/v3electionpb/v3election.js';
import type { KeyValue } from '../../kv/types.js';
import { callScope, type CallScope } from '../call-signal.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { checkMalformed } from '../malformed.js';
import { etcdKeyValue } from './convert.js';
import { EtcdError, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';
import { BLOCKING_CALL_TIMEOUT_MS } from './lock.js';
import { ownerKey, prefixOf, type Recipes } from './recipe.js';

/** PUT and DELETE (src/kv/types.ts EventType; only its types may be imported here). */
const PUT = 0;

/**
 * etcd's v3electionpb.Election: clientv3's Election recipe run in the server. A candidate's key is
 * `<name>/<lease hex>` holding its value; the leader is the key with the lowest create revision;
 * Campaign waits, as a lock does, for every older candidate's key to go.
 */
export function createEtcdElectionServer(ctx: HandlerContext, recipes: Recipes, header: HeaderOf): ElectionServer {
  const blocking = { ...ctx, requestTimeoutMs: BLOCKING_CALL_TIMEOUT_MS };
  const etcdUnary = <Req, Res>(c: HandlerContext, body: (req: Req, scope: CallScope, call: ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    unary<Req, Res>(c, async (req, scope, call) => body(req, await ctx.auth.scoped(scope, call), call), toEtcdStatus);
  const requireLeader = (l: LeaderKey | undefined): LeaderKey => {
    if (l === undefined) throw new EtcdError('missingLeaderKey');
    return l;
  };

  return {
    campaign: etcdUnary<CampaignRequest, CampaignResponse>(blocking, async (req, scope) => {
      if (req.name.length === 0) throw new EtcdError('keyNotProvided');
      if (req.lease <= 0) throw new EtcdError('leaseNotFound');
      const key = ownerKey(req.name, req.lease);
      await ctx.auth.fresh(scope);
      ctx.auth.requirePrefix(scope, ['read', 'write'], prefixOf(req.name));
      const { rev, created } = await recipes.createOrGet(scope, key, req.value, req.lease);
      // Campaigning again with the same lease keeps the place and proclaims the new value.
      if (!created && !(await recipes.putIfOwner(scope, key, rev, req.value, req.lease))) throw new EtcdError('electionSessionExpired');
      try {
        await recipes.waitDeletes(scope, prefixOf(req.name), rev - 1);
      } catch (e) {
        await recipes.deleteIfOwner({ signal: AbortSignal.timeout(5_000), deadlineMs: Date.now() + 5_000, dispose: () => undefined, ...(scope.caller ? { caller: scope.caller } : {}) }, key, rev).catch(() => undefined);
        throw e;
      }
      const { kvs, revision } = await recipes.keysUnder(scope, prefixOf(req.name));
      if (!kvs.some((kv) => Buffer.from(kv.key).equals(key) && kv.createRevision === rev)) throw new EtcdError('electionSessionExpired');
      return { header: header(revision), leader: { name: req.name, key, rev, lease: req.lease } };
    }),
    proclaim: etcdUnary<ProclaimRequest, ProclaimResponse>(ctx, async (req, scope) => {
      const l = requireLeader(req.leader);
      await ctx.auth.fresh(scope);
      ctx.auth.requirePrefix(scope, ['read', 'write'], prefixOf(l.name));
      if (!(await recipes.putIfOwner(scope, l.key, l.rev, req.value, l.lease))) throw new EtcdError('electionNotLeader');
      return { header: header(recipes.current()) };
    }),
    leader: etcdUnary<LeaderRequest, LeaderResponse>(ctx, async (req, scope) => {
      await ctx.auth.fresh(scope);
      ctx.auth.requirePrefix(scope, ['read'], prefixOf(req.name));
      const { kv, revision } = await recipes.firstCreated(scope, prefixOf(req.name));
      if (kv === null) throw new EtcdError('electionNoLeader');
      return { header: header(revision), kv: etcdKeyValue(kv) };
    }),
    resign: etcdUnary<ResignRequest, ResignResponse>(ctx, async (req, scope) => {
      const l = requireLeader(req.leader);
      await ctx.auth.fresh(scope);
      ctx.auth.requirePrefix(scope, ['read', 'write'], prefixOf(l.name));
      const res = await recipes.deleteIfOwner(scope, l.key, l.rev);
      return { header: res.header };
    }),
    observe: (call: ServerWritableStream<LeaderRequest, LeaderResponse>) => void observe(ctx, recipes, header, call),
  };
}

/**
 * Streams the election's leader: its key-value now, again on every new value it proclaims, and the
 * next leader's once it is gone (waiting, if there is none, for a candidate to appear).
 */
async function observe(ctx: HandlerContext, recipes: Recipes, header: HeaderOf, call: ServerWritableStream<LeaderRequest, LeaderResponse>): Promise<void> {
  const base = callScope(call, BLOCKING_CALL_TIMEOUT_MS, ctx.shutdown);
  let scope = base;
  const send = (kv: KeyValue): void => {
    if (!call.cancelled && !call.destroyed) call.write({ header: header(recipes.current()), kv: etcdKeyValue(kv) });
  };
  try {
    checkMalformed(call.request);
    scope = await ctx.auth.scoped(base, call);
    const prefix = prefixOf(call.request.name);
    await ctx.auth.fresh(scope);
    ctx.auth.requirePrefix(scope, ['read'], prefix);
    for (;;) {
      const { kv: leader, revision } = await recipes.firstCreated(scope, prefix);
      if (leader === null) {
        await waitForPut(ctx, scope, prefix, revision + 1);
        continue;
      }
      send(leader);
      await followLeader(ctx, scope, leader, revision + 1, send);
    }
  } catch (e) {
    if (!scope.signal.aborted && !call.cancelled) call.emit('error', toEtcdStatus(e));
    else call.end();
  } finally {
    base.dispose();
  }
}

/** Sends the leader's new values until its key is deleted. */
async function followLeader(ctx: HandlerContext, scope: CallScope, leader: KeyValue, from: number, send: (kv: KeyValue) => void): Promise<void> {
  const watcher = ctx.deps.kv.watch({ key: leader.key, startRevision: from, signal: scope.signal });
  try {
    for await (const batch of watcher) {
      for (const e of batch) {
        if (e.type !== PUT) return;
        send(e.kv);
      }
    }
  } finally {
    await watcher.return();
  }
}

async function waitForPut(ctx: HandlerContext, scope: CallScope, prefix: Uint8Array, from: number): Promise<void> {
  const watcher = ctx.deps.kv.watch({ prefix, startRevision: from, signal: scope.signal });
  try {
    for await (const batch of watcher) if (batch.some((e) => e.type === PUT)) return;
  } finally {
    await watcher.return();
  }
}
