import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import { makeMessage, MessageType, type Message, type NodeId } from '../../src/raft/types.js';
import { TcpTransport } from '../../src/transport/raft/tcp-transport.js';
import { connectAll, MemorySink, startNode, waitFor, type TestNode } from './harness.js';
import { plain, randomBytes } from './gen.js';

const open: TestNode[] = [];
async function node(id: NodeId, extra: Parameters<typeof startNode>[1] = {}): Promise<TestNode> {
  const n = await startNode(id, extra);
  open.push(n);
  return n;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.transport.close()));
});

const heartbeat = (from: NodeId, to: NodeId, commit = 0): Message => makeMessage({ type: MessageType.Heartbeat, from, to, term: 1, commit });
const append = (from: NodeId, to: NodeId, index: number, data: Uint8Array): Message =>
  makeMessage({ type: MessageType.App, from, to, term: 1, index: index - 1, logTerm: 1, entries: [{ term: 1, index, type: 0, data }] });

describe('TcpTransport', () => {
  it('binds port 0 and reports the bound port', async () => {
    const a = await node(1);
    expect(a.transport.address().port).toBeGreaterThan(0);
    expect(a.transport.addressString()).toBe(`127.0.0.1:${a.transport.address().port}`);
  });

  it('exchanges messages between three nodes, every field intact', async () => {
    const nodes = [await node(1), await node(2), await node(3)];
    connectAll(nodes);
    const sent: Message[] = [];
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        const from = a.transport.localId;
        const to = b.transport.localId;
        const batch = [
          heartbeat(from, to, 3),
          makeMessage({ type: MessageType.VoteResp, from, to, term: 2, reject: true }),
          makeMessage({ type: MessageType.AppResp, from, to, term: 2, index: 9, reject: true, rejectHint: 4, logTerm: 1 }),
          makeMessage({ type: MessageType.ReadIndex, from, to, context: Uint8Array.of(1, 2, 3) }),
          append(from, to, 5, Uint8Array.of(from, to)),
        ];
        for (const m of batch) a.transport.send(m);
        sent.push(...batch);
      }
    }
    await waitFor(() => nodes.every((n) => n.rec.messages.length === 10), 'all messages');
    for (const n of nodes) {
      const expected = sent.filter((m) => m.to === n.transport.localId).map(plain);
      expect(n.rec.messages.map(plain)).toEqual(expect.arrayContaining(expected));
      expect(n.transport.stats().frameErrors).toBe(0);
    }
  });

  it('keeps appends in order and carries large entries byte for byte', async () => {
    const [a, b] = [await node(1), await node(2)];
    connectAll([a, b]);
    const rng = new SeededRandom(7);
    const payloads = Array.from({ length: 12 }, (_, i) => randomBytes(rng, i % 5 === 0 ? 3 * 1024 * 1024 : 1 + rng.int(5000)));
    payloads.forEach((p, i) => a.transport.send(append(1, 2, i + 1, p)));
    await waitFor(() => b.rec.messages.length === payloads.length, 'all appends');
    b.rec.messages.forEach((m, i) => {
      expect(m.entries[0]?.index).toBe(i + 1);
      expect(Buffer.from(m.entries[0]?.data ?? []).equals(Buffer.from(payloads[i] ?? []))).toBe(true);
    });
  });

  it('delivers a heartbeat sent behind megabytes of queued appends before the appends finish', async () => {
    const [a, b] = [await node(1), await node(2)];
    connectAll([a, b]);
    a.transport.send(heartbeat(1, 2)); // connect both lanes first
    a.transport.send(append(1, 2, 1, Uint8Array.of(0)));
    await waitFor(() => b.rec.messages.length === 2, 'warm-up');
    // 8 appends of 2 MiB: 16 MiB, of which at most inflightBytesMax (4 MiB) is in the socket when
    // the heartbeat is sent; the rest waits in the bulk queue while the priority lane is free.
    const big = new Uint8Array(2 * 1024 * 1024);
    for (let i = 2; i < 10; i++) a.transport.send(append(1, 2, i, big));
    a.transport.send(heartbeat(1, 2, 42));
    await waitFor(() => b.rec.messages.length === 11, 'appends and heartbeat');
    const hbAt = b.rec.messages.findIndex((m) => m.type === MessageType.Heartbeat && m.commit === 42);
    expect(hbAt).toBeLessThan(10); // overtook at least the last append
  });

  it('drops and reports unreachable when the peer has no address or its queue is full', async () => {
    const a = await node(1, { limits: { peerQueueMessagesMax: 4 } });
    a.transport.send(heartbeat(1, 9));
    await waitFor(() => a.rec.unreachable.includes(9), 'unreachable for unknown peer');
    expect(a.transport.stats().droppedNoAddress).toBe(1);

    // A listener that never reads: the queue fills once the socket buffer does.
    const b = await node(2, { limits: { inflightBytesMax: 64 * 1024, peerQueueMessagesMax: 4 } });
    a.transport.setPeer(2, b.transport.addressString());
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    a.transport.setPeer(3, `127.0.0.1:${port}`);
    const big = new Uint8Array(1024 * 1024);
    for (let i = 1; i <= 64; i++) a.transport.send(append(1, 3, i, big));
    await waitFor(() => a.transport.stats().droppedQueueFull > 0, 'queue full');
    expect(a.rec.unreachable).toContain(3);
    await a.transport.close();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const a = await node(1);
    let b = await node(2);
    connectAll([a, b]);
    a.transport.send(heartbeat(1, 2, 1));
    await waitFor(() => b.rec.messages.length === 1, 'first delivery');
    const port = b.transport.address().port;
    await b.transport.close();
    // Sends while the peer is down are dropped and reported, never queued forever.
    await waitFor(() => {
      a.transport.send(heartbeat(1, 2, 2));
      return a.rec.unreachable.includes(2);
    }, 'unreachable report');
    b = await node(2, { port });
    await waitFor(() => {
      a.transport.send(heartbeat(1, 2, 3));
      return b.rec.messages.some((m) => m.commit === 3);
    }, 'delivery after restart');
    expect(a.transport.stats().connectionsDialed).toBeGreaterThanOrEqual(2);
  });

  it('refuses a peer of another cluster and a dialer that wanted another node', async () => {
    const a = await node(1);
    const b = await node(2);
    const stranger = new TcpTransport({
      localId: 3, clusterId: 'other', host: '127.0.0.1', port: 0,
      onMessage: () => undefined, onUnreachable: () => undefined, onSnapshotStatus: () => undefined,
    });
    await stranger.start();
    try {
      stranger.setPeer(1, a.transport.addressString());
      stranger.send(heartbeat(3, 1));
      a.transport.setPeer(5, b.transport.addressString()); // stale address: node 2 listens there
      a.transport.send(heartbeat(1, 5));
      await waitFor(() => (a.transport.stats().frameErrorsByReason.handshake ?? 0) >= 1 && (b.transport.stats().frameErrorsByReason.handshake ?? 0) >= 1, 'both handshakes refused');
      expect(a.rec.messages).toHaveLength(0);
      expect(b.rec.messages).toHaveLength(0);
    } finally {
      await stranger.close();
    }
  });

  it('finds peers through the resolve function when setPeer was not called', async () => {
    const b = await node(2);
    const a = await node(1, { resolve: (id) => (id === 2 ? b.transport.addressString() : undefined) });
    a.transport.send(heartbeat(1, 2, 8));
    await waitFor(() => b.rec.messages.some((m) => m.commit === 8), 'delivery via resolver');
  });

  it('survives an onMessage handler that throws', async () => {
    const [a, b] = [await node(1), await node(2, { onMessage: () => { throw new Error('driver bug'); } })];
    connectAll([a, b]);
    a.transport.send(heartbeat(1, 2));
    a.transport.send(heartbeat(1, 2));
    await waitFor(() => b.transport.stats().handlerErrors === 2, 'handler errors counted');
  });

  it('ignores local message types and messages to itself', async () => {
    const a = await node(1);
    a.transport.send(makeMessage({ type: MessageType.Hup, from: 1, to: 2 }));
    a.transport.send(heartbeat(1, 1));
    expect(a.transport.stats().droppedInvalid).toBe(2);
  });

  it('aborts start with the signal and closes idempotently', async () => {
    const t = new TcpTransport({
      localId: 1, clusterId: 'c', host: '127.0.0.1', port: 0,
      onMessage: () => undefined, onUnreachable: () => undefined, onSnapshotStatus: () => undefined,
    });
    await expect(t.start(AbortSignal.abort())).rejects.toThrow();
    await t.close();
    await t.close();
    await expect(t.start()).rejects.toThrow(/stopped/);
  });
});

describe('snapshot streaming', () => {
  const snap = (from: NodeId, to: NodeId, data = new Uint8Array(0)): Message =>
    makeMessage({ type: MessageType.Snap, from, to, term: 3, snapshot: { meta: { index: 500, term: 3, conf: { voters: [1, 2, 3], learners: [4] } }, data } });

  it('streams a few MiB from the provider into the sink, then delivers the Snap message', async () => {
    const data = randomBytes(new SeededRandom(11), 5 * 1024 * 1024 + 123);
    const sinks: MemorySink[] = [];
    let finishedAtDelivery: boolean | null = null;
    const a = await node(1, {
      async *openSnapshot(meta) {
        expect(meta.index).toBe(500);
        for (let off = 0; off < data.byteLength; off += 100_003) yield data.subarray(off, off + 100_003);
      },
    });
    const b = await node(2, {
      createSnapshotSink: async (meta, from) => {
        expect([meta.index, from]).toEqual([500, 1]);
        const sink = new MemorySink();
        sinks.push(sink);
        return sink;
      },
      onMessage: (m) => {
        finishedAtDelivery = sinks[0]?.finished ?? false;
        b.rec.messages.push(m);
      },
    });
    connectAll([a, b]);
    a.transport.send(snap(1, 2));
    await waitFor(() => a.rec.snapshotStatus.length === 1, 'snapshot status');
    expect(a.rec.snapshotStatus).toEqual([{ peerId: 2, ok: true }]);
    expect(b.rec.messages).toHaveLength(1);
    expect(finishedAtDelivery).toBe(true);
    expect(b.rec.messages[0]?.snapshot?.meta).toEqual({ index: 500, term: 3, conf: { voters: [1, 2, 3], learners: [4] } });
    expect(sinks[0]?.concat().equals(Buffer.from(data))).toBe(true);
    expect(Math.max(...(sinks[0]?.chunks.map((c) => c.byteLength) ?? []))).toBeLessThanOrEqual(256 * 1024);
    expect(a.transport.stats().snapshotBytesSent).toBe(data.byteLength);
  });

  it('streams inline snapshot data when the message carries it', async () => {
    const sink = new MemorySink();
    const [a, b] = [await node(1), await node(2, { createSnapshotSink: async () => sink })];
    connectAll([a, b]);
    a.transport.send(snap(1, 2, Uint8Array.of(5, 6, 7)));
    await waitFor(() => b.rec.messages.length === 1, 'snap delivered');
    expect(Array.from(sink.concat())).toEqual([5, 6, 7]);
  });

  it('reports failure and delivers nothing when the sink fails', async () => {
    const sink = new MemorySink(1024 * 1024);
    const [a, b] = [
      await node(1, { openSnapshot: async function* () { yield new Uint8Array(3 * 1024 * 1024); } }),
      await node(2, { createSnapshotSink: async () => sink }),
    ];
    connectAll([a, b]);
    a.transport.send(snap(1, 2));
    await waitFor(() => a.rec.snapshotStatus.length === 1, 'snapshot status');
    expect(a.rec.snapshotStatus).toEqual([{ peerId: 2, ok: false }]);
    await waitFor(() => sink.aborted !== null, 'sink aborted');
    expect(b.rec.messages).toHaveLength(0);
    expect(b.transport.stats().snapshotReceiveFailures).toBe(1);
  });

  it('reports failure when the peer is down', async () => {
    const a = await node(1);
    const b = await node(2);
    const address = b.transport.addressString();
    await b.transport.close();
    a.transport.setPeer(2, address);
    a.transport.send(snap(1, 2, Uint8Array.of(1)));
    await waitFor(() => a.rec.snapshotStatus.length === 1, 'snapshot status');
    expect(a.rec.snapshotStatus).toEqual([{ peerId: 2, ok: false }]);
  });

  it('reports failure when the receiver accepts no snapshots or the provider throws', async () => {
    const [a, b] = [
      await node(1, { openSnapshot: async function* () { yield Uint8Array.of(1); throw new Error('file vanished'); } }),
      await node(2),
    ];
    connectAll([a, b]);
    a.transport.send(snap(1, 2, Uint8Array.of(1)));
    a.transport.send(snap(1, 2)); // second concurrent stream to the same peer: refused at once
    await waitFor(() => a.rec.snapshotStatus.length === 2, 'both statuses');
    expect(a.rec.snapshotStatus.every((s) => !s.ok)).toBe(true);
    expect(b.rec.messages).toHaveLength(0);
    const sink = new MemorySink();
    const c = await node(3, { createSnapshotSink: async () => sink });
    connectAll([a, c]);
    a.transport.send(snap(1, 3));
    await waitFor(() => a.rec.snapshotStatus.length === 3, 'provider failure status');
    expect(a.rec.snapshotStatus[2]).toEqual({ peerId: 3, ok: false });
    await waitFor(() => sink.aborted !== null, 'sink aborted');
    expect(c.rec.messages).toHaveLength(0);
  });
});
