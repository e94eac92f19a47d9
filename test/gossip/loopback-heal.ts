import { MemberState } from '../../src/gossip/index.js';
import type { GossipConfig, MemberMeta } from '../../src/gossip/index.js';
import { GossipAgent } from '../../src/node/gossip-agent.js';

/**
 * Partition and heal real gossip agents on 127.0.0.1 (UDP + TCP push/pull), cut through the
 * agents' linkUp hook: shared by test/gossip/agent-heal.test.ts and scripts/gossip-heal.ts.
 */
export class LoopbackCuts {
  private groups: Map<string, number> | null = null;

  /** Agents in different groups cannot reach each other until heal(). */
  cut(groups: readonly (readonly GossipAgent[])[]): void {
    this.groups = new Map();
    groups.forEach((g, i) => g.forEach((a) => this.groups?.set(a.address, i)));
  }

  heal(): void {
    this.groups = null;
  }

  reachable(a: string, b: string): boolean {
    return this.groups === null || this.groups.get(a) === this.groups.get(b);
  }
}

function meta(name: string): MemberMeta {
  return { nodeId: name, raftAddr: '127.0.0.1:1', grpcAddr: '127.0.0.1:2', version: '0.1.0', tags: {} };
}

/** Starts n agents (config: LAN defaults unless overridden) that all join the first; resolves once all see all alive. */
export async function startLoopbackCluster(
  n: number, cuts: LoopbackCuts, config: Partial<Omit<GossipConfig, 'name' | 'advertiseAddr'>> = {}, signal?: AbortSignal,
): Promise<GossipAgent[]> {
  const agents: GossipAgent[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const agent: GossipAgent = new GossipAgent({
        name: `m${i}`, meta: meta(`m${i}`), config, linkUp: (peer) => cuts.reachable(agent.address, peer),
      });
      agents.push(agent);
      await agent.start(signal);
    }
    const seed = agents[0] as GossipAgent;
    await Promise.all(agents.slice(1).map((a) => a.join([seed.address], signal)));
    await waitFor(() => allAliveEverywhere(agents), 30_000, 'loopback cluster convergence', signal);
    return agents;
  } catch (e) {
    await Promise.all(agents.map((a) => a.stop()));
    throw e;
  }
}

export function stateOf(observer: GossipAgent, name: string): MemberState | undefined {
  return observer.members().find((m) => m.name === name)?.state;
}

export function allAliveEverywhere(agents: readonly GossipAgent[]): boolean {
  const names = agents.map((a) => a.members().find((m) => m.addr === a.address)?.name ?? '');
  return agents.every((o) => names.every((name) => stateOf(o, name) === MemberState.Alive));
}

/** Polls `cond` every 5 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    signal?.throwIfAborted();
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Cuts `isolated` off until every other agent holds them dead, heals, and returns the wall-clock ms
 * from the heal until every agent sees every agent alive (throws past `limitMs`).
 */
export async function cutAndHealMs(
  agents: readonly GossipAgent[], isolated: readonly GossipAgent[], cuts: LoopbackCuts, limitMs: number, signal?: AbortSignal,
): Promise<number> {
  const rest = agents.filter((a) => !isolated.includes(a));
  const names = isolated.map((a) => a.members().find((m) => m.addr === a.address)?.name ?? '');
  cuts.cut([isolated, rest]);
  try {
    await waitFor(() => rest.every((o) => names.every((n) => stateOf(o, n) === MemberState.Dead)), 120_000, 'the cut-off members declared dead', signal);
  } finally {
    cuts.heal();
  }
  const healedAt = performance.now();
  await waitFor(() => allAliveEverywhere(agents), limitMs, 'every member alive in every view after the heal', signal);
  return performance.now() - healedAt;
}
