import {
  ClusterService,
  type ClusterServer,
  type Member,
  type MemberAddRequest,
  type MemberAddResponse,
  type MemberListRequest,
  type MemberListResponse,
  type MemberPromoteRequest,
  type MemberPromoteResponse,
  type MemberRemoveRequest,
  type MemberRemoveResponse,
  type MemberUpdateRequest,
  type MemberUpdateResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import { InvalidArgumentError } from '../../common/errors.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { ForwardOutcomeUnknownError } from '../router.js';
import { EtcdError, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';
import type { ServiceNodeStats } from '../node-port.js';
import { isStarted, learnerInSync, nextMemberId, parsePeerUrls, quorumOf, samePeer } from './membership.js';

/**
 * The etcd API version raftkv's etcd services follow (the protos are etcd 3.5's). Status reports it
 * as `version`, as etcd reports its own release.
 */
export const ETCD_API_VERSION = '3.5.0';

/** A member's id is its raft id; raft ids are 32-bit, so every one is a safe uint64 for etcd. */
const MEMBER_ID_MAX = 0xffff_ffff;

/**
 * etcd's Cluster service over raft's configuration. Changes run on the leader (a follower forwards
 * the caller's request to the leader's method), one configuration change at a time, marked as an
 * operator's so that autopilot does not undo them (src/node/autopilot-decide.ts, "operator hold").
 */
export function createEtcdClusterServer(ctx: HandlerContext, header: HeaderOf): ClusterServer {
  const { node, resolver } = ctx.deps;
  const member = (id: number, isLearner: boolean): Member => {
    const peer = node.peerAddress(id);
    const client = resolver.grpcAddress(id);
    // etcd shows a member that never published its name and client URLs as "unstarted": here, one
    // whose gRPC address nobody has told us yet (a member added by MemberAdd before it first runs).
    const started = client !== undefined;
    return {
      ID: id,
      name: started ? `raftkv-${id}` : '',
      peerURLs: peer === undefined ? [] : [`http://${peer}`],
      clientURLs: started ? [`http://${client}`] : [],
      isLearner,
    };
  };
  const members = (): Member[] => {
    const conf = node.stats().raft.conf;
    return [...conf.voters.map((id) => member(id, false)), ...conf.learners.map((id) => member(id, true))].sort((a, b) => a.ID - b.ID);
  };
  // Cluster responses carry no revision in etcd.
  const hdr = (): ReturnType<HeaderOf> => header(0);

  const checkId = (id: number): void => {
    if (!Number.isSafeInteger(id) || id <= 0 || id > MEMBER_ID_MAX) throw new EtcdError('memberNotFound');
  };
  const confOf = (s: ServiceNodeStats): { voters: readonly number[]; learners: readonly number[] } => s.raft.conf;
  /** etcd's strict reconfiguration check: enough voters must be up to keep a quorum afterwards. */
  const checkStarted = (s: ServiceNodeStats, votersAfter: readonly number[]): void => {
    const started = votersAfter.filter((id) => isStarted(s, node.id, id)).length;
    if (started < quorumOf(votersAfter.length)) throw new EtcdError('notEnoughStarted');
  };
  const checkPeerFree = (s: ServiceNodeStats, raftAddr: string, except: number): void => {
    const { voters, learners } = confOf(s);
    for (const id of [...voters, ...learners]) {
      const peer = node.peerAddress(id);
      if (id !== except && peer !== undefined && samePeer(peer, raftAddr)) throw new EtcdError('peerURLExists');
    }
  };

  return {
    memberList: unary<MemberListRequest, MemberListResponse>(
      ctx,
      (req, scope, call) => {
        const local = async (): Promise<MemberListResponse> => ({ header: hdr(), members: members() });
        return req.linearizable ? ctx.router.onLeader(scope, call.metadata, ClusterService.memberList, req, local) : local();
      },
      toEtcdStatus,
    ),
    memberAdd: unary<MemberAddRequest, MemberAddResponse>(
      ctx,
      (req, scope, call) => {
        const raftAddr = parsePeerUrls(req.peerURLs);
        return ctx.router.onLeader(scope, call.metadata, ClusterService.memberAdd, req, async (signal) => {
          const s = node.stats();
          const { voters, learners } = confOf(s);
          checkPeerFree(s, raftAddr, 0);
          if (req.isLearner && learners.length >= LEARNERS_MAX) throw new EtcdError('tooManyLearners');
          const id = nextMemberId([...voters, ...learners, ...(ctx.deps.gossip?.aliveMembers().map((m) => m.id) ?? [])]);
          if (id > MEMBER_ID_MAX) throw new InvalidArgumentError(`no member id left below ${MEMBER_ID_MAX}`);
          if (req.isLearner) {
            await node.addNonvoter(id, raftAddr, { signal, operator: true });
          } else {
            checkStarted(s, [...voters, id]);
            await node.addVoter(id, raftAddr, { signal, operator: true });
          }
          const all = members();
          return { header: hdr(), member: all.find((m) => m.ID === id) ?? member(id, req.isLearner), members: all };
        });
      },
      toEtcdStatus,
    ),
    memberRemove: unary<MemberRemoveRequest, MemberRemoveResponse>(
      ctx,
      (req, scope, call) => {
        checkId(req.ID);
        return ctx.router.onLeader(scope, call.metadata, ClusterService.memberRemove, req, async (signal) => {
          const s = node.stats();
          const { voters, learners } = confOf(s);
          if (!voters.includes(req.ID) && !learners.includes(req.ID)) throw new EtcdError('memberNotFound');
          if (voters.includes(req.ID)) {
            const after = voters.filter((v) => v !== req.ID);
            if (after.length === 0) throw new EtcdError('notEnoughStarted');
            checkStarted(s, after);
          }
          await node.removeServer(req.ID, { signal, operator: true });
          return { header: hdr(), members: members() };
        }).catch(async (e: unknown) => {
          // Removing the leader moves leadership while a follower forwards the call, which the
          // router reports as an unknown outcome: after a read fence this node knows it.
          if (!(e instanceof ForwardOutcomeUnknownError)) throw e;
          await node.readIndex({ signal: scope.signal });
          const { voters, learners } = node.stats().raft.conf;
          if (voters.includes(req.ID) || learners.includes(req.ID)) throw e;
          return { header: hdr(), members: members() };
        });
      },
      toEtcdStatus,
    ),
    memberUpdate: unary<MemberUpdateRequest, MemberUpdateResponse>(
      ctx,
      (req, scope, call) => {
        checkId(req.ID);
        const raftAddr = parsePeerUrls(req.peerURLs);
        return ctx.router.onLeader(scope, call.metadata, ClusterService.memberUpdate, req, async (signal) => {
          const s = node.stats();
          const { voters, learners } = confOf(s);
          if (!voters.includes(req.ID) && !learners.includes(req.ID)) throw new EtcdError('memberNotFound');
          checkPeerFree(s, raftAddr, req.ID);
          const current = node.peerAddress(req.ID);
          if (current === undefined || !samePeer(current, raftAddr)) {
            // Re-adding a member with its role unchanged changes nothing in raft's configuration;
            // every member learns the new address from the entry's context as it applies it.
            if (voters.includes(req.ID)) await node.addVoter(req.ID, raftAddr, { signal, operator: true });
            else await node.addNonvoter(req.ID, raftAddr, { signal, operator: true });
          }
          return { header: hdr(), members: members() };
        });
      },
      toEtcdStatus,
    ),
    memberPromote: unary<MemberPromoteRequest, MemberPromoteResponse>(
      ctx,
      (req, scope, call) => {
        checkId(req.ID);
        return ctx.router.onLeader(scope, call.metadata, ClusterService.memberPromote, req, async (signal) => {
          const s = node.stats();
          const { voters, learners } = confOf(s);
          if (voters.includes(req.ID)) throw new EtcdError('memberNotLearner');
          if (!learners.includes(req.ID)) throw new EtcdError('memberNotFound');
          if (!learnerInSync(s, node.id, req.ID)) throw new EtcdError('learnerNotReady');
          const raftAddr = node.peerAddress(req.ID);
          if (raftAddr === undefined) throw new EtcdError('memberNotFound');
          await node.addVoter(req.ID, raftAddr, { signal, operator: true });
          return { header: hdr(), members: members() };
        });
      },
      toEtcdStatus,
    ),
  };
}

/** etcd's default --experimental-max-learners: MemberAdd refuses a second learner. */
const LEARNERS_MAX = 1;
