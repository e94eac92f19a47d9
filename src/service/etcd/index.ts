import type { Server } from '@grpc/grpc-js';
import { AuthService, ClusterService, KVService, LeaseService, MaintenanceService, WatchService } from '../../gen/etcd/etcdserverpb/rpc.js';
import type { KvCore } from '../kv-core.js';
import type { HandlerContext } from '../kv-service.js';
import { tolerantDefinition } from '../malformed.js';
import { createEtcdClusterServer } from './cluster.js';
import { createEtcdMaintenanceServer } from './maintenance.js';
import { headerFactory } from './header.js';
import { createEtcdKvServer } from './kv.js';
import { createEtcdAuthServer } from './auth.js';
import { createEtcdLeaseServer } from './lease.js';
import { ElectionService } from '../../gen/etcd/v3electionpb/v3election.js';
import { LockService } from '../../gen/etcd/v3lockpb/v3lock.js';
import { createEtcdElectionServer } from './election.js';
import { createEtcdLockServer } from './lock.js';
import { Recipes } from './recipe.js';
import { rootOnlyWhenAuthOn } from '../auth-gate.js';
import { toEtcdStatus } from './errors.js';
import { serveEtcdWatch } from './watch.js';
import { learnerMayServeKv, learnerMayServeMaintenance, refuseOnLearner } from './learner-gate.js';

type Wrap = <I extends object>(def: Record<string, { path: string; requestStream: boolean; responseStream: boolean }>, impl: I) => I;

/**
 * Adds etcd's v3 services (etcdserverpb KV, Watch, Cluster, Maintenance; Lease, and v3lockpb.Lock and v3electionpb.Election on it, when the node has a lessor) to `server`, over the same KV
 * core as raftkv.v1. Methods not implemented yet answer UNIMPLEMENTED (grpc-js's default handler).
 */
export function addEtcdServices(server: Server, ctx: HandlerContext, core: KvCore, clusterName: string, wrap0: Wrap): void {
  const header = headerFactory(ctx.deps.node, clusterName);
  const node = ctx.deps.node;
  // etcd's learner rule wraps every service: a learner serves serializable Range and Status only.
  const wrap: Wrap = (def, impl) => wrap0(def, refuseOnLearner(def, impl, node));
  server.addService(tolerantDefinition(KVService), wrap0(KVService, refuseOnLearner(KVService, createEtcdKvServer(ctx, core, header), node, learnerMayServeKv)));
  server.addService(tolerantDefinition(WatchService), refuseOnLearner(WatchService, { watch: (call: Parameters<typeof serveEtcdWatch>[2]) => serveEtcdWatch(ctx, header, call) }, node));
  // Membership changes are admin operations in etcd (root only while auth is on); MemberList is not.
  const { memberAdd, memberRemove, memberUpdate, memberPromote } = ClusterService;
  const clusterChanges = { memberAdd, memberRemove, memberUpdate, memberPromote };
  server.addService(tolerantDefinition(ClusterService), wrap(ClusterService, rootOnlyWhenAuthOn(clusterChanges, createEtcdClusterServer(ctx, header), ctx.auth, toEtcdStatus)));
  // etcd 3.4 serves Maintenance (Status, ...) to root only while auth is on.
  const maintenance = rootOnlyWhenAuthOn(MaintenanceService, createEtcdMaintenanceServer(ctx, header), ctx.auth, toEtcdStatus);
  server.addService(tolerantDefinition(MaintenanceService), wrap0(MaintenanceService, refuseOnLearner(MaintenanceService, maintenance, node, learnerMayServeMaintenance)));
  const auth = ctx.deps.auth;
  if (auth !== undefined) server.addService(tolerantDefinition(AuthService), wrap(AuthService, createEtcdAuthServer(ctx, core, header, auth)));
  const leases = ctx.deps.leases;
  if (leases !== undefined) {
    server.addService(tolerantDefinition(LeaseService), wrap(LeaseService, createEtcdLeaseServer(ctx, core, header, leases)));
    const recipes = new Recipes(ctx, core, header);
    server.addService(tolerantDefinition(LockService), wrap(LockService, createEtcdLockServer(ctx, recipes, header)));
    server.addService(tolerantDefinition(ElectionService), wrap(ElectionService, createEtcdElectionServer(ctx, recipes, header)));
  }
}
