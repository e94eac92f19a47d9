import * as cpb from '../gen/raftkv/v1/cluster.js';
import { InvalidArgumentError } from '../common/errors.js';
import type { Caller } from './caller.js';
import { fromClusterHeader, fromMember } from './convert.js';
import { callUnary, type Stubs, type UnaryMethod } from './endpoints.js';
import type {
  CallOptions, ConfChangeResult, KeyringOperation, KeyringResult, MembersResult, SnapshotResult, StatusResult, TransferResult,
} from './types.js';

/**
 * Cluster administration over raftkv.v1.Cluster: raft voters and non-voters, leadership transfers,
 * snapshots and the gossip keyring have no call in etcd's API that fits (etcd's MemberAdd speaks peer
 * URLs and learners, not raft ids and suffrage), so they stay raftkv's own.
 */
type ClusterStub = Stubs['cluster'];

function call<Req, Res>(c: Caller, o: CallOptions, request: Req, pick: (s: ClusterStub) => UnaryMethod<Req, Res>): Promise<Res> {
  return c.unary(o, (a, s) => callUnary(pick(s.cluster), request, a));
}

export function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError(`bad server id ${id}: expected a positive integer`);
  return id;
}

export async function members(c: Caller, o: CallOptions & { linearizable?: boolean }): Promise<MembersResult> {
  const r = await call(c, o, cpb.MembersRequest.fromPartial({ linearizable: o.linearizable ?? false }), (s) => s.members.bind(s));
  return { header: fromClusterHeader(r.header), members: r.members.map(fromMember) };
}

export async function status(c: Caller, o: CallOptions): Promise<StatusResult> {
  const r = await call(c, o, cpb.StatusRequest.fromPartial({}), (s) => s.status.bind(s));
  const { header, ...rest } = r;
  return { ...rest, header: fromClusterHeader(header) };
}

export async function addMember(c: Caller, voter: boolean, id: number, raftAddress: string, o: CallOptions & { grpcAddress?: string }): Promise<ConfChangeResult> {
  const fields = { id: checkId(id), raftAddress, grpcAddress: o.grpcAddress ?? '' };
  const r = voter
    ? await call(c, o, cpb.AddVoterRequest.fromPartial(fields), (s) => s.addVoter.bind(s))
    : await call(c, o, cpb.AddNonvoterRequest.fromPartial(fields), (s) => s.addNonvoter.bind(s));
  return { header: fromClusterHeader(r.header), index: r.index };
}

export async function removeServer(c: Caller, id: number, o: CallOptions): Promise<ConfChangeResult> {
  const r = await call(c, o, cpb.RemoveServerRequest.fromPartial({ id: checkId(id) }), (s) => s.removeServer.bind(s));
  return { header: fromClusterHeader(r.header), index: r.index };
}

export async function transferLeader(c: Caller, targetId: number, o: CallOptions): Promise<TransferResult> {
  const req = cpb.TransferLeadershipRequest.fromPartial({ targetId: targetId === 0 ? 0 : checkId(targetId) });
  const r = await call(c, o, req, (s) => s.transferLeadership.bind(s));
  return { header: fromClusterHeader(r.header), newLeaderId: r.newLeaderId };
}

export async function snapshot(c: Caller, o: CallOptions): Promise<SnapshotResult> {
  const r = await call(c, o, cpb.SnapshotRequest.fromPartial({}), (s) => s.snapshot.bind(s));
  return { header: fromClusterHeader(r.header), index: r.index, term: r.term, sizeBytes: r.sizeBytes };
}

const KEYRING_OPS = { list: cpb.KeyringOp.KEYRING_OP_LIST, install: cpb.KeyringOp.KEYRING_OP_INSTALL, use: cpb.KeyringOp.KEYRING_OP_USE, remove: cpb.KeyringOp.KEYRING_OP_REMOVE };

export async function keyring(c: Caller, op: KeyringOperation, key: string, o: CallOptions & { localOnly?: boolean }): Promise<KeyringResult> {
  const req = cpb.KeyringRequest.fromPartial({ op: KEYRING_OPS[op], key, localOnly: o.localOnly ?? false });
  const r = await call(c, o, req, (s) => s.keyring.bind(s));
  return { header: fromClusterHeader(r.header), members: r.members.map((m) => ({ id: m.id, grpcAddress: m.grpcAddress, ok: m.ok, error: m.error, fingerprints: [...m.fingerprints] })) };
}
