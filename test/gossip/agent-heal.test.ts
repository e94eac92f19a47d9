import { afterEach, describe, expect, it } from 'vitest';
import type { GossipAgent } from '../../src/node/gossip-agent.js';
import { allAliveEverywhere, cutAndHealMs, LoopbackCuts, startLoopbackCluster, waitFor } from './loopback-heal.js';

const agents: GossipAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

describe('partition heal over real UDP/TCP on 127.0.0.1 (LAN defaults)', () => {
  it('a member cut off until declared dead is alive in every view soon after the heal', async () => {
    const cuts = new LoopbackCuts();
    agents.push(...await startLoopbackCluster(3, cuts, {}, AbortSignal.timeout(30_000)));
    // The simulation's bound is 5 s of sim time; real sockets on a loaded 2-core machine get twice that.
    const healMs = await cutAndHealMs(agents, [agents[2]!], cuts, 10_000, AbortSignal.timeout(60_000));
    expect(healMs).toBeLessThan(10_000);
    await waitFor(() => allAliveEverywhere(agents), 1_000, 'still converged');
  }, 90_000);
});
