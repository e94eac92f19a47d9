/**
 * Stalled connections: TCP cannot tell a writer that its data is not getting through (after a
 * partition it retransmits with exponential backoff, so the old connection stays silent for about as
 * long again as the partition lasted). The listener's LaneAck frames let the dialer notice within
 * laneStallTimeoutMs and redial.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeMessage, MessageType, type Message, type NodeId } from '../../src/raft/types.js';
import { startNode, waitFor, type TestNode } from './harness.js';

const STALL_MS = 300;
const ACK_DELAY_MS = 20;
const open: TestNode[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.transport.close()));
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function node(id: NodeId, stallMs = STALL_MS): Promise<TestNode> {
  const n = await startNode(id, { limits: { laneStallTimeoutMs: stallMs, laneAckDelayMs: ACK_DELAY_MS } });
  open.push(n);
  return n;
}

async function listen(onSocket: (s: Socket) => void): Promise<number> {
  const server = createServer((s) => {
    sockets.push(s);
    onSocket(s);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as { port: number }).port;
}

/**
 * A proxy whose connections can be made "dead": a dead connection swallows bytes both ways and
 * never closes, like a TCP connection across a partition. Connections made later work.
 */
async function stallableProxy(targetPort: number): Promise<{ port: number; killCurrent: () => void }> {
  const live: { dead: boolean }[] = [];
  const port = await listen((client) => {
    const state = { dead: false };
    live.push(state);
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.push(upstream);
    client.on('data', (d: Buffer) => !state.dead && upstream.write(d));
    upstream.on('data', (d: Buffer) => !state.dead && client.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return { port, killCurrent: () => live.forEach((c) => (c.dead = true)) };
}

const heartbeat = (from: NodeId, to: NodeId, commit: number): Message => makeMessage({ type: MessageType.Heartbeat, from, to, term: 1, commit });

describe('stalled outbound connections', () => {
  it('abandons a connection whose listener never acknowledges anything, and redials', async () => {
    let accepted = 0;
    const port = await listen(() => accepted++);
    const a = await node(1);
    a.transport.setPeer(2, `127.0.0.1:${port}`);
    let commit = 0;
    await waitFor(() => {
      a.transport.send(heartbeat(1, 2, ++commit));
      return a.transport.stats().connectionsStalled >= 1 && accepted >= 2;
    }, 'a stalled connection closed and redialed');
  });

  it('gets traffic through again soon after a dead connection, instead of never', async () => {
    const a = await node(1);
    const b = await node(2);
    const proxy = await stallableProxy(b.transport.address().port);
    a.transport.setPeer(2, `127.0.0.1:${proxy.port}`);
    let commit = 0;
    await waitFor(() => {
      a.transport.send(heartbeat(1, 2, ++commit));
      return b.rec.messages.length > 0;
    }, 'first delivery');
    proxy.killCurrent();
    const deadFrom = commit;
    await waitFor(() => {
      a.transport.send(heartbeat(1, 2, ++commit));
      return b.rec.messages.some((m) => m.commit > deadFrom + 1);
    }, 'delivery on a new connection');
    expect(a.transport.stats().connectionsStalled).toBeGreaterThanOrEqual(1);
  });

  it('keeps a healthy connection: steady traffic is acknowledged and never reset', async () => {
    const a = await node(1, 1_000);
    const b = await node(2, 1_000);
    a.transport.setPeer(2, `127.0.0.1:${b.transport.address().port}`);
    const endMs = performance.now() + 2_500;
    let commit = 0;
    while (performance.now() < endMs) {
      a.transport.send(heartbeat(1, 2, ++commit));
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => b.rec.messages.some((m) => m.commit === commit), 'the last heartbeat');
    expect(a.transport.stats().connectionsStalled).toBe(0);
    expect(a.transport.stats().connectionsDialed).toBe(1);
  });
});
