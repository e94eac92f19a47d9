import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemberState } from '../../src/gossip/index.js';
import type { MemberMeta } from '../../src/gossip/index.js';
import { GossipAgent } from '../../src/node/gossip-agent.js';
import { Keyring } from '../../src/transport/gossip/index.js';

/** Short intervals so real-socket tests finish in about a second or two. */
const FAST = {
  probeIntervalMs: 100, probeTimeoutMs: 40, gossipIntervalMs: 20, suspicionMult: 2,
  pushPullIntervalMs: 2_000, rejoinIntervalMs: 1_000, localStallThresholdMs: 200,
};

const agents: GossipAgent[] = [];

function meta(name: string, version = '0.1.0'): MemberMeta {
  return { nodeId: name, raftAddr: '127.0.0.1:1', grpcAddr: '127.0.0.1:2', version, tags: {} };
}

async function startAgent(name: string, keyring?: Keyring): Promise<GossipAgent> {
  const a = new GossipAgent({ name, meta: meta(name), config: FAST, ...(keyring ? { keyring } : {}) });
  agents.push(a);
  await a.start(AbortSignal.timeout(5_000));
  return a;
}

/** Polls `cond` until it holds or the deadline passes. */
async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function stateOf(observer: GossipAgent, name: string): MemberState | undefined {
  return observer.members().find((m) => m.name === name)?.state;
}

function liveCount(a: GossipAgent): number {
  return a.members().filter((m) => m.state === MemberState.Alive).length;
}

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});

describe('GossipAgent over real UDP/TCP on 127.0.0.1', () => {
  it('5 nodes converge; a killed node is detected dead; a leaving node is marked left', async () => {
    const nodes = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => startAgent(n)));
    const [a, , , d, e] = nodes as [GossipAgent, GossipAgent, GossipAgent, GossipAgent, GossipAgent];
    for (const n of nodes.slice(1)) expect(await n.join([a.address], AbortSignal.timeout(5_000))).toBe(1);
    await waitFor(() => nodes.every((n) => liveCount(n) === 5), 5_000, 'convergence');
    expect(a.members().find((m) => m.name === 'd')?.meta?.nodeId).toBe('d');

    const events: string[] = [];
    a.on('member', (ev) => events.push(`${ev.kind}:${ev.member.name}`));
    await e.stop(); // killed: no leave message
    const rest = nodes.slice(0, 4);
    await waitFor(() => rest.every((n) => stateOf(n, 'e') === MemberState.Dead), 10_000, 'e detected dead');

    expect(await d.leave(2_000)).toBe(true);
    await d.stop();
    const stay = nodes.slice(0, 3);
    await waitFor(() => stay.every((n) => stateOf(n, 'd') === MemberState.Left), 5_000, 'd marked left');
    expect(events).toContain('dead:e');
    expect(events).toContain('left:d');
    expect(events).not.toContain('dead:d');
  });

  it('metadata updates spread; garbage packets are dropped and counted', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startAgent(n))) as [GossipAgent, GossipAgent, GossipAgent];
    await b.join([a.address]);
    await c.join([a.address]);
    await waitFor(() => [a, b, c].every((n) => liveCount(n) === 3), 5_000, 'convergence');

    const junk = createSocket('udp4');
    const port = Number(a.address.split(':')[1]);
    const sends = [randomBytes(0), randomBytes(1), Buffer.from([1, 7, 200]), randomBytes(3000), Buffer.from([1, 0, 0, 0])];
    for (let i = 0; i < 50; i++) sends.push(randomBytes(1 + (i % 40)));
    await Promise.all(sends.map((buf) => new Promise<void>((r) => junk.send(buf, port, '127.0.0.1', () => r()))));
    junk.close();
    await waitFor(() => {
      const s = a.stats();
      return s.malformedPackets + s.udpOversized + s.oversizedPackets >= sends.length - 1;
    }, 5_000, 'garbage counted');

    b.updateMeta(meta('b', '0.2.0'));
    await waitFor(() => [a, c].every((n) => n.members().find((m) => m.name === 'b')?.meta?.version === '0.2.0'), 5_000, 'meta update');
    expect([a, b, c].every((n) => liveCount(n) === 3)).toBe(true);
  });

  it('encrypts with a keyring, rejects foreign keys, and survives key rotation', async () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const rings = [new Keyring(k1), new Keyring(k1), new Keyring(k1)];
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n, i) => startAgent(n, rings[i]))) as [GossipAgent, GossipAgent, GossipAgent];
    await b.join([a.address]);
    await c.join([a.address]);
    await waitFor(() => [a, b, c].every((n) => liveCount(n) === 3), 5_000, 'encrypted convergence');

    const stranger = await startAgent('x', new Keyring(randomBytes(32)));
    expect(await stranger.join([a.address])).toBe(0);
    await waitFor(() => a.stats().udpUndecryptable > 0 || stranger.stats().streamsFailed > 0, 5_000, 'stranger refused');
    expect(a.members().some((m) => m.name === 'x')).toBe(false);

    for (const r of rings) r.addKey(k2);
    for (const r of rings) r.useKey(k2);
    for (const r of rings) r.removeKey(k1);
    b.updateMeta(meta('b', '0.3.0'));
    await waitFor(() => [a, c].every((n) => n.members().find((m) => m.name === 'b')?.meta?.version === '0.3.0'), 5_000, 'update after rotation');
  });
});
