/**
 * Adds a member to a running bench cluster the way an operator does on both systems: Cluster
 * MemberAdd (etcd's API, which raftkv implements) through the leader, then start the new process
 * with the cluster's settings — etcd with --initial-cluster-state=existing and the member list
 * MemberAdd returned; raftkv with the id MemberAdd chose and the cluster's gossip seeds (no
 * --bootstrap_expect: it finds the leader through gossip, and the leader already knows its raft
 * address from the peer URL). The new member is pushed onto `c.members`, so `c.stop()` ends it.
 */
import { freePort } from '../../test/support/free-port.js';
import { etcdArgs, raftkvArgs, spawnMember, track, type BenchCluster, type Member } from './clusters.js';
import type { EtcdApi } from './etcd-api.js';

const MEMBER_ADD_TIMEOUT_MS = 10_000;
/**
 * etcd refuses MemberAdd (`unhealthy cluster`) until every voter has been connected for 5 s, as
 * after a member restart; such refusals are retried for this long.
 */
const MEMBER_ADD_RETRY_MS = 60_000;
const MEMBER_ADD_RETRY_PAUSE_MS = 500;

async function memberAdd(leader: EtcdApi, peerUrl: string): Promise<Awaited<ReturnType<EtcdApi['memberAdd']>>> {
  const deadline = Date.now() + MEMBER_ADD_RETRY_MS;
  for (;;) {
    try {
      return await leader.memberAdd(peerUrl, true, MEMBER_ADD_TIMEOUT_MS);
    } catch (e) {
      if (!/unhealthy cluster/.test((e as Error).message) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, MEMBER_ADD_RETRY_PAUSE_MS));
    }
  }
}

/** Adds a learner (non-voter on raftkv) and starts it; returns the member, just spawned. */
export async function joinMember(c: BenchCluster, leader: EtcdApi): Promise<Member> {
  return c.system === 'etcd' ? joinEtcd(c, leader) : joinRaftkv(c, leader);
}

async function joinEtcd(c: BenchCluster, leader: EtcdApi): Promise<Member> {
  const { bin, dataDir, timers, cpus } = c.launch;
  if (bin === undefined) throw new Error('joinEtcd: the cluster was not started by startEtcd');
  const p = { client: await freePort(), peer: await freePort() };
  const added = await memberAdd(leader, `http://127.0.0.1:${p.peer}`);
  const name = `m${c.members.length + 1}`;
  // The added member has no name until it starts; every other member keeps the name it started with.
  const cluster = added.members.map((m) => `${m.ID === added.id ? name : m.name}=${m.peerURLs[0] ?? ''}`).join(',');
  const args = etcdArgs(name, dataDir, p, cluster, 'existing', timers);
  const m: Member = { name, endpoint: `127.0.0.1:${p.client}`, proc: null, stderr: '', restart: () => track(m, spawnMember(bin, args, cpus)) };
  m.restart();
  c.members.push(m);
  return m;
}

async function joinRaftkv(c: BenchCluster, leader: EtcdApi): Promise<Member> {
  const { gossipSeeds, dataDir, timers, cpus } = c.launch;
  if (gossipSeeds === undefined) throw new Error('joinRaftkv: the cluster was not started by startRaftkv');
  const p = { raft: await freePort(), grpc: await freePort(), gossip: await freePort() };
  const added = await memberAdd(leader, `http://127.0.0.1:${p.raft}`);
  const id = Number(added.id);
  const args = raftkvArgs(id, dataDir, p, gossipSeeds, timers);
  const m: Member = { name: `n${id}`, endpoint: `127.0.0.1:${p.grpc}`, proc: null, stderr: '', restart: () => track(m, spawnMember(process.execPath, args, cpus)) };
  m.restart();
  c.members.push(m);
  return m;
}
