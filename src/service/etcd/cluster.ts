import {
  type ClusterServer,
  type MaintenanceServer,
  type Member,
  type MemberListRequest,
  type MemberListResponse,
  type StatusRequest,
  type StatusResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { EtcdErrors, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';

/**
 * The etcd API version raftkv's etcd services follow (the protos are etcd 3.5's). Status reports it
 * as `version`, as etcd reports its own release.
 */
export const ETCD_API_VERSION = '3.5.0';

/** etcd's Cluster.MemberList over raft's configuration; membership changes stay with raftkv.v1 for now. */
export function createEtcdClusterServer(ctx: HandlerContext, header: HeaderOf): Pick<ClusterServer, 'memberList'> {
  const { node, resolver } = ctx.deps;
  const member = (id: number, isLearner: boolean): Member => {
    const peer = node.peerAddress(id);
    const client = resolver.grpcAddress(id);
    return {
      ID: id,
      // etcd shows a member without a name as "unstarted"; every raftkv member has started.
      name: `raftkv-${id}`,
      peerURLs: peer === undefined ? [] : [`http://${peer}`],
      clientURLs: client === undefined ? [] : [`http://${client}`],
      isLearner,
    };
  };
  return {
    memberList: unary<MemberListRequest, MemberListResponse>(
      ctx,
      async () => {
        const conf = node.stats().raft.conf;
        const members = [...conf.voters.map((id) => member(id, false)), ...conf.learners.map((id) => member(id, true))].sort((a, b) => a.ID - b.ID);
        // Cluster responses carry no revision in etcd.
        return { header: header(0), members };
      },
      toEtcdStatus,
    ),
  };
}

/** etcd's Maintenance.Status from the node's raft and store statistics. */
export function createEtcdMaintenanceServer(ctx: HandlerContext, header: HeaderOf): Pick<MaintenanceServer, 'status'> {
  const { node, kv } = ctx.deps;
  return {
    status: unary<StatusRequest, StatusResponse>(
      ctx,
      async () => {
        const s = node.stats();
        return {
          header: header(kv.stats().revision),
          version: ETCD_API_VERSION,
          // The store does not measure its size on disk yet; the raft log's bytes are the closest figure.
          dbSize: s.logBytes,
          dbSizeInUse: s.logBytes,
          leader: s.raft.lead,
          raftIndex: s.raft.commit,
          raftTerm: s.raft.term,
          raftAppliedIndex: s.appliedIndex,
          errors: s.raft.lead === 0 ? [EtcdErrors.noLeader[1]] : [],
          isLearner: s.raft.conf.learners.includes(node.id),
        };
      },
      toEtcdStatus,
    ),
  };
}
