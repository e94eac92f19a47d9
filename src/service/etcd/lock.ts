import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { LockRequest, LockResponse, LockServer, UnlockRequest, UnlockResponse } from '../../gen/etcd/v3lockpb/v3lock.js';
import type { CallScope } from '../call-signal.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { EtcdError, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';
import { ownerKey, prefixOf, type Recipes } from './recipe.js';

/** Lock and Campaign wait as long as their caller does; only its deadline or cancel ends them. */
export const BLOCKING_CALL_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * etcd's v3lockpb.Lock: the server runs clientv3's Mutex on the caller's lease. The lock key is
 * `<name>/<lease hex>`, created with the lease; the holder is the key under `<name>/` with the lowest
 * create revision; a waiter watches the key just ahead of it until it is deleted (released, or gone
 * with its lease). Locking twice with one lease is one acquisition (the key already exists).
 */
export function createEtcdLockServer(ctx: HandlerContext, recipes: Recipes, header: HeaderOf): LockServer {
  const blocking = { ...ctx, requestTimeoutMs: BLOCKING_CALL_TIMEOUT_MS };
  const etcdUnary = <Req, Res>(c: HandlerContext, body: (req: Req, scope: CallScope, call: ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    unary<Req, Res>(c, async (req, scope, call) => body(req, await ctx.auth.scoped(scope, call), call), toEtcdStatus);
  return {
    lock: etcdUnary<LockRequest, LockResponse>(blocking, async (req, scope) => {
      if (req.name.length === 0) throw new EtcdError('keyNotProvided');
      if (req.lease <= 0) throw new EtcdError('leaseNotFound'); // a lock lives only as long as its lease
      await ctx.auth.fresh(scope);
      ctx.auth.requirePrefix(scope, ['read', 'write'], prefixOf(req.name));
      const key = ownerKey(req.name, req.lease);
      const { rev } = await recipes.createOrGet(scope, key, new Uint8Array(0), req.lease);
      try {
        await recipes.waitDeletes(scope, prefixOf(req.name), rev - 1);
      } catch (e) {
        // As Mutex.Lock on a cancelled context: give up the place in the queue (best effort; the
        // lease would remove it anyway).
        await recipes.deleteKey({ signal: AbortSignal.timeout(5_000), deadlineMs: Date.now() + 5_000, dispose: () => undefined, ...(scope.caller ? { caller: scope.caller } : {}) }, key).catch(() => undefined);
        throw e;
      }
      // The lease may have ended while we waited: then the key is gone and the lock is not ours.
      const { kvs, revision } = await recipes.keysUnder(scope, prefixOf(req.name));
      if (!kvs.some((kv) => Buffer.from(kv.key).equals(key) && kv.createRevision === rev)) throw new EtcdError('lockSessionExpired');
      return { header: header(revision), key };
    }),
    unlock: etcdUnary<UnlockRequest, UnlockResponse>(ctx, async (req, scope) => {
      if (req.key.length === 0) throw new EtcdError('keyNotProvided');
      // The delete is checked as it applies (write on the key), like any client delete.
      const res = await recipes.deleteKey(scope, req.key);
      return { header: res.header };
    }),
  };
}
