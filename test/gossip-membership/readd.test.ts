/**
 * A member removed from the raft configuration while its process is alive (an operator's mistake, or
 * a removal that raced a heal) is re-added by autopilot as a non-voter and promoted back once it is
 * stable: the floor of 3 voters is restored without anyone touching it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { GossipCluster } from './gossip-cluster.js';

describe('autopilot restores a live member that was removed', () => {
  let c: GossipCluster | null = null;
  afterAll(async () => {
    await c?.stop();
  });

  it('re-adds it as a non-voter and promotes it back to three voters', async () => {
    c = await GossipCluster.create(3);
    const cl = c;
    await Promise.all([1, 2, 3].map((id) => cl.spawn(id, ['--bootstrap_expect=3'])));
    const voters = async (): Promise<number[]> => (await cl.members(1)).members.filter((m) => m.suffrage === 'voter').map((m) => m.id).sort();
    await cl.waitFor(async () => (await voters()).length === 3, 30_000, 'three voters');
    let leader = 0;
    await cl.waitFor(async () => (leader = (await cl.members(1)).header.leaderId) !== 0, 10_000, 'a leader');
    const victim = [1, 2, 3].find((id) => id !== leader)!;
    await cl.node(leader).client.removeServer(victim, { timeoutMs: 5000 });
    await cl.waitFor(async () => !(await cl.members(leader)).members.some((m) => m.id === victim), 10_000, `node ${victim} removed`);
    // Back as a member first (non-voter), then a voter once stable.
    await cl.waitFor(async () => (await voters()).includes(victim), 30_000, `node ${victim} promoted back`);
    expect(await voters()).toEqual([1, 2, 3]);
  }, 90_000);
});
