import { afterEach, describe, expect, it } from 'vitest';
import { nodePaths } from '../../src/storage/node-meta.js';
import { DiskStorage } from '../../src/storage/log-store.js';
import { TestCluster, waitUntil } from './cluster.js';

const enc = (s: string): Uint8Array => Buffer.from(s);
let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** Node 1 bootstraps alone; 2 and 3 join as voters through the leader. */
async function threeNodes(extra = {}): Promise<TestCluster> {
  const c = await TestCluster.create(extra);
  const first = await c.startNode(1, { bootstrap: true });
  await c.waitLeader();
  for (const id of [2, 3]) {
    const m = await c.startNode(id);
    await m.node!.setPeerAddress(first.id, first.raftAddr);
    await first.node!.addVoter(id, m.raftAddr);
  }
  return c;
}

describe('RaftNode over loopback TCP', () => {
  it('replicates applied commands to every node in order', async () => {
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    for (let i = 0; i < 20; i++) await leader.node!.apply(enc(`v${i}`));
    await waitUntil(() => [...cluster!.members.values()].every((m) => m.sm.commands.length === 20), 10_000, 'replication');
    const logs = [...cluster.members.values()].map((m) => m.sm.commands.map((c) => c.data).join(','));
    expect(new Set(logs).size).toBe(1);
  });

  it('elects a new leader after the leader stops, and keeps committing', async () => {
    cluster = await threeNodes();
    const old = await cluster.waitLeader();
    await old.node!.apply(enc('before'));
    await cluster.stopNode(old.id);
    const next = await cluster.waitLeader();
    expect(next.id).not.toBe(old.id);
    const r = await next.node!.apply(enc('after'));
    expect(r.index).toBeGreaterThan(0);
  });

  it('restarts from disk with its log and term', async () => {
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    for (let i = 0; i < 5; i++) await leader.node!.apply(enc(`x${i}`));
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await waitUntil(() => follower.sm.commands.length === 5, 5000, 'follower applied');
    await cluster.stopNode(follower.id);
    const back = await cluster.startNode(follower.id);
    // The in-memory state machine starts empty: the node re-applies its durable log.
    await waitUntil(() => back.sm.commands.length === 5, 10_000, 'replay after restart');
    expect(back.sm.commands.map((c) => c.data)).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
  });

  it('a restarted node remembers the configuration changes it applied', async () => {
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    await leader.node!.apply(enc('x'));
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await waitUntil(() => follower.sm.applied >= leader.sm.applied, 5000, 'follower applied');
    await cluster.stopNode(follower.id);
    // A durable state machine has applied the configuration entries: they are not delivered again.
    const back = await cluster.startNode(follower.id, { keepStateMachine: true });
    expect(back.node!.stats().raft.conf.voters).toEqual([1, 2, 3]);
    // It can lead: stop the old leader and wait for a leader among the other two.
    await cluster.stopNode(leader.id);
    const next = await cluster.waitLeader();
    expect(next.id).not.toBe(leader.id);
  });

  it('restarts with a state machine ahead of the commit index on disk, applying nothing twice', async () => {
    // Committed entries apply beside the Ready's log write, which records the new commit index, so a
    // crash can leave the state machine ahead of the commit index on disk; the node must take that.
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    for (let i = 0; i < 5; i++) await leader.node!.apply(enc(`c${i}`));
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await waitUntil(() => follower.sm.commands.length === 5, 5000, 'follower applied');
    await cluster.stopNode(follower.id);
    const storage = await DiskStorage.open(nodePaths(cluster.dataDir, follower.id).raft);
    const hs = storage.initialState().hardState;
    expect(hs.commit).toBeGreaterThanOrEqual(follower.sm.applied);
    await storage.persist({ hardState: { ...hs, commit: follower.sm.applied - 3 } }, { sync: true });
    await storage.close();
    const back = await cluster.startNode(follower.id, { keepStateMachine: true });
    await leader.node!.apply(enc('c5'));
    await waitUntil(() => back.sm.commands.length >= 6, 10_000, 'the restarted follower applies the next entry');
    expect(back.sm.commands.map((c) => c.data)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });

  it('serves linearizable read fences on followers', async () => {
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    const r = await leader.node!.apply(enc('w'));
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    const idx = await follower.node!.readIndex({ signal: AbortSignal.timeout(5000) });
    expect(idx).toBeGreaterThanOrEqual(r.index);
    expect(follower.sm.applied).toBeGreaterThanOrEqual(r.index);
  });

  it('batches concurrent linearizable reads into few ReadIndex rounds, on the leader and on a follower', async () => {
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    const r = await leader.node!.apply(enc('w'));
    const follower = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    for (const m of [leader, follower]) {
      const before = m.node!.readRoundsStarted();
      const idx = await Promise.all(Array.from({ length: 200 }, () => m.node!.readIndex({ signal: AbortSignal.timeout(5000) })));
      for (const i of idx) expect(i).toBeGreaterThanOrEqual(r.index);
      // All 200 arrive before the loop runs: one round; a retry after a slow round may add one or two.
      expect(m.node!.readRoundsStarted() - before).toBeLessThanOrEqual(3);
    }
  });

  it('catches up a node that was down through the log, and after compaction through a snapshot', async () => {
    cluster = await threeNodes({ snapshotEntries: 20, trailingLogs: 5 });
    const leader = await cluster.waitLeader();
    const lagging = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await cluster.stopNode(lagging.id);
    for (let i = 0; i < 60; i++) await leader.node!.apply(enc(`s${i}`));
    await waitUntil(() => leader.node!.stats().lastSnapshotIndex > 0, 10_000, 'a snapshot on the leader');
    expect(leader.node!.stats().raft.firstIndex).toBeGreaterThan(10);
    const back = await cluster.startNode(lagging.id);
    await waitUntil(() => back.sm.commands.length === 60, 15_000, 'catch-up through a snapshot');
    expect(back.sm.commands.map((c) => c.data)).toEqual(Array.from({ length: 60 }, (_, i) => `s${i}`));
  });

  it('transfers leadership on request', async () => {
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    const target = [...cluster.members.values()].find((m) => m.id !== leader.id)!;
    await leader.node!.transferLeadership(target.id);
    await waitUntil(() => target.node!.isLeader(), 5000, 'transfer');
  });
});

describe('RaftNode under garbage on the raft port', () => {
  it('closes bad connections and keeps committing', async () => {
    const { connect } = await import('node:net');
    const { SeededRandom } = await import('../../src/common/random.js');
    cluster = await threeNodes();
    const leader = await cluster.waitLeader();
    const rng = new SeededRandom(7);
    for (const m of cluster.members.values()) {
      const [host, port] = [m.raftAddr.slice(0, m.raftAddr.lastIndexOf(':')), Number(m.raftAddr.slice(m.raftAddr.lastIndexOf(':') + 1))];
      for (let i = 0; i < 10; i++) {
        const junk = Buffer.from(Array.from({ length: 1 + rng.int(4096) }, () => rng.int(256)));
        await new Promise<void>((resolve) => {
          const s = connect(port, host, () => s.end(junk));
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        });
      }
    }
    for (let i = 0; i < 10; i++) await leader.node!.apply(enc(`after-garbage-${i}`), { signal: AbortSignal.timeout(5000) });
    await waitUntil(() => [...cluster!.members.values()].every((m) => m.sm.commands.length === 10), 10_000, 'replication after garbage');
    const refused = [...cluster.members.values()].reduce((n, m) => n + m.node!.stats().transport.frameErrors + m.node!.stats().transport.handshakeTimeouts, 0);
    expect(refused).toBeGreaterThan(0);
  });
});

describe('RaftNode backlog limits', () => {
  it('refuses applies beyond pendingProposalsMax with OVERLOADED, and keeps serving', async () => {
    cluster = await threeNodes({ pendingProposalsMax: 4 });
    const leader = await cluster.waitLeader();
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => leader.node!.apply(enc(`b${i}`))));
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'OVERLOADED');
    const applied = results.filter((r) => r.status === 'fulfilled');
    expect(refused.length).toBeGreaterThan(0);
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.length + refused.length).toBe(40);
    await leader.node!.apply(enc('after'));
  });
});
