/**
 * Acceptance: etcd's Cluster service through Debian's etcdctl 3.4 against a 3-node raftkv cluster
 * formed through gossip, every change through a follower: member list / add --learner / update /
 * promote / remove / add (voter), etcd's errors, and autopilot leaving the operator's changes alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';
import { freePort } from '../support/free-port.js';
import { ctl, ctlError, ctlJson, HAVE_ETCDCTL } from './ctl.js';

if (!HAVE_ETCDCTL) console.warn('test/etcd/etcdctl-cluster.test.ts skipped: etcdctl is not installed (apt-get install etcd-client)');

interface MemberJson { ID: number; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }
interface ListJson { header: { member_id: number; revision?: number }; members: MemberJson[] }

describe.skipIf(!HAVE_ETCDCTL)('etcdctl 3.4 Cluster against a gossip-formed raftkv cluster', () => {
  let c: GossipCluster;
  let leaderId = 0;
  let via = '';
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const list = async (): Promise<MemberJson[]> => (await ctlJson<ListJson>(via, ['member', 'list'])).members;
  const find = async (id: number): Promise<MemberJson | undefined> => (await list()).find((m) => m.ID === id);
  /** Asserts `cond` holds on every look over `ms` (autopilot reconciles once a second). */
  const holdsFor = async (ms: number, cond: (ms: MemberJson[]) => boolean, what: string): Promise<void> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const members = await list();
      if (!cond(members)) throw new Error(`${what} stopped holding: ${JSON.stringify(members)}`);
      await sleep(200);
    }
  };

  beforeAll(async () => {
    c = await GossipCluster.create(3);
    await Promise.all([1, 2, 3].map((id) => c.spawn(id, ['--bootstrap_expect=3'])));
    await c.waitFor(async () => {
      const m = await c.members(1);
      leaderId = m.header.leaderId;
      return m.members.filter((x) => x.suffrage === 'voter').length === 3 && leaderId !== 0;
    }, 30_000, 'a 3-voter cluster with a leader');
    via = c.node([1, 2, 3].find((id) => id !== leaderId)!).grpcAddr;
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('member list through a follower: three started voters with their URLs', async () => {
    const r = await ctlJson<ListJson>(via, ['member', 'list']);
    expect(r.header.revision ?? 0).toBe(0);
    expect(r.members.map((m) => m.ID)).toEqual([1, 2, 3]);
    for (const m of r.members) {
      expect(m.name).toBe(`raftkv-${m.ID}`);
      expect(m.peerURLs?.[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(m.clientURLs).toEqual([`http://${c.node(m.ID).grpcAddr}`]);
      expect(m.isLearner ?? false).toBe(false);
    }
  });

  it('add a learner, update it, start it, promote it, remove it: autopilot leaves each step alone', async () => {
    const firstUrl = `http://127.0.0.1:${await freePort()}`;
    const raftPort = await freePort();
    const url = `http://127.0.0.1:${raftPort}`;

    const add = await ctl(via, ['member', 'add', 'n4', '--learner', `--peer-urls=${firstUrl}`]);
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/Member\s+4 added to cluster/);
    expect(add.stdout).toContain(`ETCD_INITIAL_ADVERTISE_PEER_URLS="${firstUrl}"`);
    expect(await find(4)).toEqual({ ID: 4, peerURLs: [firstUrl], isLearner: true }); // unstarted: no name, no client URLs

    // etcd's refusals, through the follower.
    expect(ctlError(await ctl(via, ['member', 'add', 'again', `--peer-urls=${firstUrl}`]))).toBe('Error: etcdserver: Peer URLs already exists');
    expect(ctlError(await ctl(via, ['member', 'add', 'n5', '--learner', `--peer-urls=http://127.0.0.1:${await freePort()}`]))).toBe('Error: etcdserver: too many learner members in cluster');
    expect(ctlError(await ctl(via, ['member', 'promote', '4']))).toBe('Error: etcdserver: can only promote a learner member which is in sync with leader');
    expect(ctlError(await ctl(via, ['member', 'promote', '1']))).toBe('Error: etcdserver: can only promote a learner member');
    expect(ctlError(await ctl(via, ['member', 'promote', '63']))).toBe('Error: etcdserver: member not found');
    expect(ctlError(await ctl(via, ['member', 'remove', '63']))).toBe('Error: etcdserver: member not found');
    expect(ctlError(await ctl(via, ['member', 'update', '63', `--peer-urls=${url}`]))).toBe('Error: etcdserver: member not found');
    const taken = (await find(1))!.peerURLs![0]!;
    expect(ctlError(await ctl(via, ['member', 'update', '4', `--peer-urls=${taken}`]))).toBe('Error: etcdserver: Peer URLs already exists');

    const update = await ctl(via, ['member', 'update', '4', `--peer-urls=${url}`]);
    expect(update.stdout).toMatch(/Member\s+4 updated in cluster/);
    expect((await find(4))?.peerURLs).toEqual([url]);

    // The new member runs at the updated address and joins through gossip; autopilot (300 ms
    // stabilization here) would promote a learner it added itself, but not the operator's.
    await c.spawn(4, [`--raft_addr=127.0.0.1:${raftPort}`]);
    await c.waitFor(async () => (await find(4))?.name === 'raftkv-4', 30_000, 'member 4 started');
    await holdsFor(2_500, (ms) => ms.find((m) => m.ID === 4)?.isLearner === true, 'member 4 stays a learner');
    // The learner reports itself as one, and knows the leader.
    const [st] = await ctlJson<Array<{ Status: { isLearner?: boolean; leader: number; header: { member_id: number } } }>>(c.node(4).grpcAddr, ['endpoint', 'status']);
    expect(st?.Status).toMatchObject({ isLearner: true, header: { member_id: 4 } });
    expect(st?.Status.leader).toBeGreaterThan(0);
    // etcd's learner rule: serializable reads only; writes and linearizable reads are refused so clients fail over.
    const learner = c.node(4).grpcAddr;
    expect((await ctl(learner, ['get', 'anything', '--consistency=s'])).code).toBe(0);
    expect(ctlError(await ctl(learner, ['get', 'anything']))).toContain('etcdserver: rpc not supported for learner');
    expect(ctlError(await ctl(learner, ['put', 'k', 'v']))).toContain('etcdserver: rpc not supported for learner');
    expect(ctlError(await ctl(learner, ['member', 'list']))).toContain('etcdserver: rpc not supported for learner');

    await c.waitFor(async () => {
      const r = await ctl(via, ['member', 'promote', '4']);
      if (r.code !== 0 && !ctlError(r).includes('in sync with leader')) throw new Error(ctlError(r));
      return r.code === 0;
    }, 20_000, 'member 4 promoted');
    expect((await find(4))?.isLearner ?? false).toBe(false);
    // Four voters is even: autopilot would step one down, but the operator chose it.
    await holdsFor(2_500, (ms) => ms.length === 4 && ms.every((m) => !m.isLearner), 'four voters');

    const remove = await ctl(via, ['member', 'remove', '4']);
    expect(remove.stdout).toMatch(/Member\s+4 removed from cluster/);
    // The list is the follower's own configuration (etcd's MemberList is local too): it applies the removal soon after.
    await c.waitFor(async () => (await find(4)) === undefined, 5_000, 'the follower applied the removal');
    // Member 4 still runs and gossips alive: autopilot must not add it back.
    expect(c.node(4).proc?.exitCode).toBeNull();
    await holdsFor(3_000, (ms) => !ms.some((m) => m.ID === 4), 'member 4 stays removed');
    await c.kill(4, 'SIGKILL');
  }, 120_000);

  it('adds a voter that has not started yet and removes it again', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const add = await ctl(via, ['member', 'add', 'n5', `--peer-urls=${url}`]);
    expect(add.code).toBe(0);
    // etcdctl prints member ids in hex.
    const id = parseInt(/Member\s+([0-9a-f]+) added/.exec(add.stdout)?.[1] ?? '0', 16);
    expect(id).toBeGreaterThan(4);
    expect(await find(id)).toEqual({ ID: id, peerURLs: [url] });
    // Writes still commit: three of four voters are up.
    expect((await ctl(via, ['put', '/c/x', 'y'])).code).toBe(0);
    const remove = await ctl(via, ['member', 'remove', id.toString(16)]);
    expect(remove.code).toBe(0);
    expect((await list()).map((m) => m.ID)).toEqual([1, 2, 3]);
  }, 60_000);

  it('removes the leader through a follower: the follower reports the outcome after leadership moved', async () => {
    const leader = (await c.members(1)).header.leaderId;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    via = c.node(follower).grpcAddr;
    const remove = await ctl(via, ['member', 'remove', leader.toString(16)]);
    expect(remove.code, remove.stderr).toBe(0);
    expect(remove.stdout).toMatch(new RegExp(`Member\\s+${leader.toString(16)} removed from cluster`));
    await c.waitFor(async () => (await list()).length === 2, 5_000, 'the follower applied the removal');
    // The old leader still runs and gossips; it stays out, and the other two serve writes.
    await holdsFor(2_500, (ms) => ms.length === 2 && !ms.some((m) => m.ID === leader), `member ${leader} stays removed`);
    expect((await ctl(via, ['put', '/c/after', 'leader-removed'])).code).toBe(0);
  }, 60_000);
});
