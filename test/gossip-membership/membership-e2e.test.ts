/**
 * End to end: nodes started with only --gossip_seeds (the first three with --bootstrap_expect=3) form
 * a cluster; a client that knows one node writes and reads linearizably while nodes 4 and 5 join,
 * node 2 leaves (SIGTERM) and the leader is SIGKILLed. Afterwards no acknowledged write is lost and
 * the raft configuration equals the members gossip holds alive.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GossipCluster } from './gossip-cluster.js';

/** The node whose address the client knows; it is kept alive (leadership is moved off it before the kill). */
const CLIENT_NODE = 3;

interface Workload {
  acked: number[];
  writeFailures: string[];
  readsChecked: number;
  violations: string[];
  stop: () => Promise<void>;
}

/** One writer (w/<n> then last=<n>) and one reader of `last`, checking reads never go back in time. */
function runWorkload(c: GossipCluster): Workload {
  const client = c.node(CLIENT_NODE).client;
  const w: Workload = { acked: [], writeFailures: [], readsChecked: 0, violations: [], stop: async () => undefined };
  let running = true;
  let maxAcked = 0;
  const startedAt = Date.now();
  const writer = (async () => {
    for (let n = 1; running; n++) {
      try {
        await client.put(`w/${n}`, String(n), { timeoutMs: 3000 });
        await client.put('last', String(n), { timeoutMs: 3000 });
        w.acked.push(n);
        maxAcked = n;
      } catch (e) {
        // Not acknowledged: it may or may not have applied; nothing is claimed about it.
        w.writeFailures.push(`${Date.now() - startedAt} ms: ${(e as Error).message}`.slice(0, 200));
      }
    }
  })();
  const reader = (async () => {
    while (running) {
      const floor = maxAcked;
      try {
        const r = await client.get('last', { consistency: 'linearizable', timeoutMs: 3000 });
        const seen = r.kv === null ? 0 : Number(r.kv.value.toString());
        if (seen < floor) w.violations.push(`read last=${seen} after write ${floor} was acknowledged`);
        w.readsChecked++;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  w.stop = async () => {
    running = false;
    await Promise.all([writer, reader]);
  };
  return w;
}

async function confIds(c: GossipCluster, via: number): Promise<{ voters: number[]; all: number[]; leader: number }> {
  const m = await c.members(via);
  const ids = (pred: (s: string) => boolean): number[] => m.members.filter((x) => pred(x.suffrage)).map((x) => x.id).sort((a, b) => a - b);
  return { voters: ids((s) => s === 'voter'), all: ids(() => true), leader: m.header.leaderId };
}

const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

describe('membership through gossip', () => {
  let c: GossipCluster | null = null;
  afterAll(async () => {
    await c?.stop();
  });

  it('forms, grows, shrinks and survives a leader kill without losing acknowledged writes', async () => {
    c = await GossipCluster.create(3);
    const cl = c;
    await Promise.all([1, 2, 3].map((id) => cl.spawn(id, ['--bootstrap_expect=3'])));
    await cl.waitFor(async () => {
      const s = await confIds(cl, CLIENT_NODE);
      return same(s.voters, [1, 2, 3]) && s.leader !== 0;
    }, 30_000, 'bootstrap_expect to form a 3-voter cluster');
    await cl.observe();
    const work = runWorkload(cl);

    await Promise.all([4, 5].map((id) => cl.spawn(id)));
    await cl.waitFor(async () => same((await confIds(cl, CLIENT_NODE)).voters, [1, 2, 3, 4, 5]), 30_000, 'nodes 4 and 5 to be added and promoted');

    expect(await cl.kill(2, 'SIGTERM')).toBe(0);
    await cl.waitFor(async () => {
      const s = await confIds(cl, CLIENT_NODE);
      return same(s.all, [1, 3, 4, 5]) && s.voters.length === 3;
    }, 20_000, 'node 2 removed after leaving and voters back to an odd count');

    // Kill the leader, first moving leadership off the node the client talks to.
    let leader = 0;
    await cl.waitFor(async () => {
      leader = (await confIds(cl, CLIENT_NODE)).leader;
      if (leader === CLIENT_NODE) await cl.node(CLIENT_NODE).client.transferLeader(0, { timeoutMs: 3000 });
      return leader !== 0 && leader !== CLIENT_NODE;
    }, 15_000, 'a leader other than the client node');
    await cl.kill(leader, 'SIGKILL');
    const survivors = [1, 3, 4, 5].filter((id) => id !== leader);
    await cl.waitFor(async () => {
      const s = await confIds(cl, CLIENT_NODE);
      return s.leader !== 0 && s.leader !== leader && same(s.all, survivors) && same(s.voters, survivors) && same(cl.gossipAlive(), survivors);
    }, 30_000, `the configuration to equal the live gossip members ${survivors.join(',')}`);

    // Let the workload run a little on the final configuration, then check it.
    const before = work.acked.length;
    await cl.waitFor(() => work.acked.length >= before + 5, 15_000, 'writes on the final configuration');
    await work.stop();
    expect(work.violations).toEqual([]);
    expect(work.readsChecked).toBeGreaterThan(0);
    const client = cl.node(CLIENT_NODE).client;
    const present = new Set<number>();
    for (let after: string | null = null, more = true; more;) {
      const page = await client.range({ prefix: 'w/' }, { timeoutMs: 5000, consistency: 'linearizable', ...(after !== null ? { startAfter: after } : {}) });
      for (const kv of page.kvs) present.add(Number(kv.value.toString()));
      more = page.more;
      after = page.nextStartAfter === null ? null : Buffer.from(page.nextStartAfter).toString();
    }
    const lost = work.acked.filter((n) => !present.has(n));
    expect(lost).toEqual([]);
    // Every live node agrees on the configuration.
    for (const id of survivors) expect((await confIds(cl, id)).all).toEqual(survivors);
    console.log(`acknowledged writes: ${work.acked.length}, failed: ${work.writeFailures.length}, linearizable reads checked: ${work.readsChecked}, killed leader: ${leader}`);
    if (process.env['E2E_VERBOSE']) console.log(work.writeFailures.join('\n'));
  }, 120_000);
});
