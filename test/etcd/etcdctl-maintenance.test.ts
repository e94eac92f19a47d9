/**
 * Acceptance: etcd's Maintenance service through Debian's etcdctl 3.4 against a 3-node raftkv cluster
 * formed through gossip, every command through a follower too: endpoint status / health / hashkv,
 * alarm, defrag, snapshot save + status, move-leader, and (opt-in, 60 s) check perf.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmRequest_AlarmAction, AlarmType, MaintenanceClient, type MoveLeaderResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';
import { ctl, ctlError, ctlJson, HAVE_ETCDCTL } from './ctl.js';

if (!HAVE_ETCDCTL) console.warn('test/etcd/etcdctl-maintenance.test.ts skipped: etcdctl is not installed (apt-get install etcd-client)');

interface Header { member_id: number; revision: number; raft_term: number }
interface StatusJson { Endpoint: string; Status: { header: Header; dbSize: number; dbSizeInUse?: number; leader: number; raftIndex: number; raftTerm: number; raftAppliedIndex: number; isLearner?: boolean; errors?: string[] } }
interface HashKvJson { Endpoint: string; HashKV: { header: Header; hash: number; compact_revision?: number } }

describe.skipIf(!HAVE_ETCDCTL)('etcdctl 3.4 Maintenance against a gossip-formed raftkv cluster', () => {
  let c: GossipCluster;
  let leaderId = 0;
  let followerId = 0;
  let dir = '';
  const addr = (id: number): string => c.node(id).grpcAddr;
  const all = (): string => [1, 2, 3].map(addr).join(',');

  const leaderNow = async (): Promise<number> => {
    const s = await ctlJson<StatusJson[]>(addr(1), ['endpoint', 'status']);
    return s[0]!.Status.leader;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-maint-'));
    c = await GossipCluster.create(3);
    await Promise.all([1, 2, 3].map((id) => c.spawn(id, ['--bootstrap_expect=3'])));
    await c.waitFor(async () => {
      const m = await c.members(1);
      leaderId = m.header.leaderId;
      return m.members.filter((x) => x.suffrage === 'voter').length === 3 && leaderId !== 0;
    }, 30_000, 'a 3-voter cluster with a leader');
    followerId = [1, 2, 3].find((id) => id !== leaderId)!;
    for (let i = 0; i < 20; i++) await ctlJson(addr(followerId), ['put', `/m/k${i}`, `v${i}`]);
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('endpoint status through every member: the leader, raft indexes and the store size are real', async () => {
    const rows = await ctlJson<StatusJson[]>(all(), ['endpoint', 'status']);
    expect(rows.length).toBe(3);
    for (const r of rows) {
      expect(r.Status.leader).toBe(leaderId);
      expect(r.Status.dbSize).toBeGreaterThan(0);
      expect(r.Status.raftIndex).toBeGreaterThanOrEqual(20);
      expect(r.Status.raftAppliedIndex).toBeGreaterThanOrEqual(20);
      expect(r.Status.raftTerm).toBeGreaterThan(0);
      expect(r.Status.isLearner ?? false).toBe(false);
      expect(r.Status.errors ?? []).toEqual([]);
    }
    const table = await ctl(addr(followerId), ['endpoint', 'status', '-w', 'table']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${addr(followerId)} \\|\\s+${followerId} \\|.*\\|\\s+false \\|\\s+false \\|`));
  });

  it('endpoint health through a follower', async () => {
    const r = await ctl(addr(followerId), ['endpoint', 'health']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain(`${addr(followerId)} is healthy`);
  });

  it('endpoint hashkv: every member gives the same hash at the same revision, and a write changes it', async () => {
    const agreed = async (): Promise<HashKvJson[]> => {
      let rows: HashKvJson[] = [];
      await c.waitFor(async () => {
        rows = await ctlJson<HashKvJson[]>(all(), ['endpoint', 'hashkv']);
        return new Set(rows.map((r) => r.HashKV.header.revision)).size === 1;
      }, 10_000, 'every member at one revision');
      return rows;
    };
    const before = await agreed();
    expect(new Set(before.map((r) => r.HashKV.hash)).size).toBe(1);
    const compactedBefore = before[0]!.HashKV.compact_revision ?? 0; // etcdctl omits a zero
    expect(compactedBefore).toBeLessThan(before[0]!.HashKV.header.revision);
    await ctlJson(addr(followerId), ['put', '/m/k0', 'changed']);
    const after = await agreed();
    expect(new Set(after.map((r) => r.HashKV.hash)).size).toBe(1);
    expect(after[0]!.HashKV.hash).not.toBe(before[0]!.HashKV.hash);
    // The keyspace keeps its history: every member hashes the earlier revision as it was.
    const revBefore = before[0]!.HashKV.header.revision;
    const past = await ctlJson<HashKvJson[]>(all(), ['endpoint', 'hashkv', `--rev=${revBefore}`]);
    expect(past.map((r) => r.HashKV.hash)).toEqual(before.map(() => before[0]!.HashKV.hash));
    // Once compacted past it, that revision is gone.
    expect(await ctl(addr(followerId), ['compaction', String(after[0]!.HashKV.header.revision)])).toMatchObject({ code: 0 });
    const old = await ctl(addr(followerId), ['endpoint', 'hashkv', `--rev=${revBefore}`]);
    expect(old.code).not.toBe(0);
    expect(ctlError(old)).toContain('etcdserver: mvcc: required revision has been compacted');
  });

  it('alarm list is empty and alarm disarm succeeds, through a follower', async () => {
    const list = await ctl(addr(followerId), ['alarm', 'list']);
    expect(list).toMatchObject({ code: 0, stdout: '' });
    const disarm = await ctl(addr(followerId), ['alarm', 'disarm']);
    expect(disarm).toMatchObject({ code: 0, stdout: '' });
  });

  it('refuses to activate an alarm and to hash a future revision, with clear errors', async () => {
    const client = new MaintenanceClient(addr(followerId), credentials.createInsecure());
    try {
      const opts = { deadline: Date.now() + 10_000 };
      const activate = await new Promise<ServiceError | null>((resolve) =>
        client.alarm({ action: AlarmRequest_AlarmAction.Activate, memberID: followerId, alarm: AlarmType.Nospace }, new Metadata(), opts, (err) => resolve(err)));
      expect(activate?.code).toBe(status.UNIMPLEMENTED);
      expect(activate?.details).toContain('alarms cannot be activated');
      const future = await new Promise<ServiceError | null>((resolve) => client.hashKv({ revision: 1_000_000 }, new Metadata(), opts, (err) => resolve(err)));
      expect(future?.details).toBe('etcdserver: mvcc: required revision is a future revision');
    } finally {
      client.close();
    }
  });

  it('defrag compacts each member, the follower included', async () => {
    const r = await ctl(all(), ['defrag']);
    expect(r.code).toBe(0);
    for (const id of [1, 2, 3]) expect(r.stdout).toContain(`Finished defragmenting etcd member[${addr(id)}]`);
    expect((await ctlJson<{ kvs: unknown[] }>(addr(followerId), ['get', '/m/', '--prefix'])).kvs.length).toBe(20);
  });

  it('snapshot save through a follower writes a bbolt file with the SHA-256 trailer that snapshot status reads', async () => {
    await ctlJson(addr(followerId), ['put', '/m/last', 'x']);
    const last = await ctlJson<{ header: Header }>(addr(leaderId), ['get', '/m/last']);
    await c.waitFor(async () => (await ctlJson<{ header: Header }>(addr(followerId), ['get', '/m/last', '--consistency=s'])).header.revision === last.header.revision, 10_000, 'the follower applied the last put');
    const file = join(dir, 'snap.db');
    const save = await ctl(addr(followerId), ['snapshot', 'save', file]);
    expect(save.code).toBe(0);
    expect(save.stdout).toContain(`Snapshot saved at ${file}`);
    const bytes = await readFile(file);
    expect(bytes.length % 4096).toBe(32);
    const db = bytes.subarray(0, bytes.length - 32);
    expect(createHash('sha256').update(db).digest().equals(bytes.subarray(bytes.length - 32))).toBe(true);
    const status = await ctlJson<{ hash: number; revision: number; totalKey: number; totalSize: number }>(addr(followerId), ['snapshot', 'status', file]);
    expect(status.revision).toBe(last.header.revision);
    // 21 user keys plus meta/consistent_index.
    expect(status.totalKey).toBe(22);
    expect(status.totalSize).toBe(db.length);
  });

  it('move-leader: etcdctl sends it to the leader; a follower forwards it; a non-voter target is refused', async () => {
    const from = await leaderNow();
    const to = [1, 2, 3].find((id) => id !== from)!;
    const moved = await ctl(all(), ['move-leader', to.toString(16)]);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`Leadership transferred from ${from.toString(16)} to ${to.toString(16)}`);
    await c.waitFor(async () => (await leaderNow()) === to, 10_000, `node ${to} leads`);

    // etcdctl looks for the leader among the endpoints it was given, and refuses without one.
    const follower = [1, 2, 3].find((id) => id !== to)!;
    const viaFollower = await ctl(addr(follower), ['move-leader', from.toString(16)]);
    expect(ctlError(viaFollower)).toContain('no leader endpoint given');

    // The server itself forwards a MoveLeader that reaches a follower.
    const client = new MaintenanceClient(addr(follower), credentials.createInsecure());
    try {
      const call = (targetID: number): Promise<MoveLeaderResponse> =>
        new Promise((resolve, reject) => client.moveLeader({ targetID }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))));
      await call(follower);
      await c.waitFor(async () => (await leaderNow()) === follower, 10_000, `node ${follower} leads`);
      const bad = await call(99).then(() => null, (e: ServiceError) => e);
      expect(bad?.details).toBe('etcdserver: bad leader transferee');
    } finally {
      client.close();
    }
  });

  // etcdctl's check perf always runs 60 s of load: too long for every CI run. RAFTKV_CHECK_PERF=1 runs
  // it. Its PASS thresholds (135 writes/s, slowest < 0.5 s) depend on the machine, so the test checks
  // that every write succeeded and prints etcdctl's verdict.
  it.skipIf(!process.env.RAFTKV_CHECK_PERF)('check perf (small load) runs through every member without errors', async () => {
    const r = await ctl(all(), ['check', 'perf', '--load=s'], { timeoutMs: 120_000, commandTimeout: '100s' });
    const verdict = r.stdout.slice(r.stdout.search(/(PASS|FAIL)/));
    console.log(`etcdctl check perf --load=s against 3 raftkv nodes:\n${verdict}`);
    expect(verdict).toMatch(/(PASS|FAIL): Throughput/);
    expect(verdict).not.toContain('ERROR(');
    // It deletes its keys at the end.
    expect((await ctlJson<{ kvs?: unknown[] }>(addr(followerId), ['get', '/etcdctl-check-perf/', '--prefix', '--keys-only'])).kvs ?? []).toEqual([]);
  }, 130_000);
});
