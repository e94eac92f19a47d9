import { InvalidArgumentError } from '../common/errors.js';
import {
  ClusterService,
  Suffrage,
  type AddNonvoterRequest,
  type AddNonvoterResponse,
  type AddVoterRequest,
  type AddVoterResponse,
  type ClusterHeader,
  type ClusterServer,
  type KeyringRequest,
  type KeyringResponse,
  type Member,
  type MembersRequest,
  type MembersResponse,
  type RemoveServerRequest,
  type RemoveServerResponse,
  type SnapshotRequest,
  type SnapshotResponse,
  type StatusRequest,
  type StatusResponse,
  type TransferLeadershipRequest,
  type TransferLeadershipResponse,
} from '../gen/raftkv/v1/cluster.js';
import { checkHostPort } from '../resolver/static.js';
import { handleKeyring } from './keyring-service.js';
import { unary, type HandlerContext } from './kv-service.js';

export interface ClusterContext extends HandlerContext {
  readonly startedAtMs: number;
  /** Remember a member's gRPC address given in AddVoter/AddNonvoter (when the resolver can learn). */
  readonly learnAddress?: (id: number, grpcAddr: string) => void;
}

export function createClusterServer(ctx: ClusterContext): ClusterServer {
  const { node, kv, resolver } = ctx.deps;
  const header = (): ClusterHeader => {
    const raft = node.stats().raft;
    return { raftTerm: raft.term, memberId: node.id, leaderId: raft.lead };
  };

  const members = (): Member[] => {
    const stats = node.stats();
    const raft = stats.raft;
    const isLeader = raft.lead === node.id;
    const one = (id: number, suffrage: Suffrage): Member => ({
      id,
      raftAddress: node.peerAddress(id) ?? '',
      grpcAddress: resolver.grpcAddress(id) ?? '',
      suffrage,
      leader: id === raft.lead,
      // 0 for this node itself and for peers never heard from since this process started.
      lastContactMs: id === node.id ? 0 : (stats.lastContactMs.get(id) ?? 0),
      matchIndex: isLeader ? (raft.progress.get(id)?.match ?? 0) : 0,
    });
    return [...raft.conf.voters.map((id) => one(id, Suffrage.SUFFRAGE_VOTER)), ...raft.conf.learners.map((id) => one(id, Suffrage.SUFFRAGE_NONVOTER))].sort((a, b) => a.id - b.id);
  };

  const checkMember = (id: number, raftAddress: string, grpcAddress: string): void => {
    if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError('id must be a positive integer');
    checkHostPort(raftAddress, 'raft_address');
    if (grpcAddress !== '') checkHostPort(grpcAddress, 'grpc_address');
  };

  return {
    members: unary<MembersRequest, MembersResponse>(ctx, (req, scope, call) => {
      const local = async (): Promise<MembersResponse> => ({ header: header(), members: members() });
      return req.linearizable ? ctx.router.onLeader(scope, call.metadata, ClusterService.members, req, local) : local();
    }),
    status: unary<StatusRequest, StatusResponse>(ctx, async () => {
      const s = node.stats();
      const k = kv.stats();
      return {
        header: header(),
        role: ['follower', 'pre-candidate', 'candidate', 'leader'][s.raft.role] ?? 'unknown',
        commitIndex: s.raft.commit,
        appliedIndex: s.appliedIndex,
        firstLogIndex: s.raft.firstIndex,
        lastLogIndex: s.raft.lastIndex,
        logEntries: Math.max(0, s.raft.lastIndex - s.raft.firstIndex + 1),
        logBytes: s.logBytes,
        snapshotsTaken: s.snapshotsTaken,
        lastSnapshotIndex: s.lastSnapshotIndex,
        kvRevision: k.revision,
        kvKeys: k.keys,
        voters: s.raft.conf.voters.length,
        nonvoters: s.raft.conf.learners.length,
        version: ctx.deps.options?.version ?? '',
        uptimeMs: Date.now() - ctx.startedAtMs,
      };
    }),
    addVoter: unary<AddVoterRequest, AddVoterResponse>(ctx, (req, scope, call) => {
      checkMember(req.id, req.raftAddress, req.grpcAddress);
      if (req.grpcAddress !== '') ctx.learnAddress?.(req.id, req.grpcAddress);
      return ctx.router.onLeader(scope, call.metadata, ClusterService.addVoter, req, async (signal) => {
        // Joining nodes retry until they hear success: adding a voter twice is a success.
        if (node.stats().raft.conf.voters.includes(req.id) && node.peerAddress(req.id) === req.raftAddress) return { header: header(), index: 0 };
        const index = await node.addVoter(req.id, req.raftAddress, { signal });
        return { header: header(), index };
      });
    }),
    addNonvoter: unary<AddNonvoterRequest, AddNonvoterResponse>(ctx, (req, scope, call) => {
      checkMember(req.id, req.raftAddress, req.grpcAddress);
      if (req.grpcAddress !== '') ctx.learnAddress?.(req.id, req.grpcAddress);
      return ctx.router.onLeader(scope, call.metadata, ClusterService.addNonvoter, req, async (signal) => {
        if (node.stats().raft.conf.learners.includes(req.id) && node.peerAddress(req.id) === req.raftAddress) return { header: header(), index: 0 };
        const index = await node.addNonvoter(req.id, req.raftAddress, { signal });
        return { header: header(), index };
      });
    }),
    removeServer: unary<RemoveServerRequest, RemoveServerResponse>(ctx, (req, scope, call) => {
      if (!Number.isSafeInteger(req.id) || req.id <= 0) throw new InvalidArgumentError('id must be a positive integer');
      return ctx.router.onLeader(scope, call.metadata, ClusterService.removeServer, req, async (signal) => {
        const conf = node.stats().raft.conf;
        if (!conf.voters.includes(req.id) && !conf.learners.includes(req.id)) return { header: header(), index: 0 };
        const index = await node.removeServer(req.id, { signal });
        return { header: header(), index };
      });
    }),
    transferLeadership: unary<TransferLeadershipRequest, TransferLeadershipResponse>(ctx, (req, scope, call) =>
      ctx.router.onLeader(scope, call.metadata, ClusterService.transferLeadership, req, async (signal) => {
        if (req.targetId !== 0 && !node.stats().raft.conf.voters.includes(req.targetId)) {
          throw new InvalidArgumentError(`node ${req.targetId} is not a voter`);
        }
        await node.transferLeadership(req.targetId === 0 ? null : req.targetId, { signal });
        return { header: header(), newLeaderId: node.leader()?.id ?? 0 };
      }),
    ),
    snapshot: unary<SnapshotRequest, SnapshotResponse>(ctx, async (_req, scope) => {
      const index = await node.snapshot({ signal: scope.signal });
      const latest = node.latestSnapshot();
      const same = latest !== null && latest.index === index;
      return { header: header(), index, term: same ? latest.term : 0, sizeBytes: same ? latest.sizeBytes : 0 };
    }),
    keyring: unary<KeyringRequest, KeyringResponse>(ctx, async (req, scope) => ({
      header: header(),
      members: await handleKeyring(req, scope, ctx.deps.gossip, node.id, ctx.forwarder),
    })),
  };
}
