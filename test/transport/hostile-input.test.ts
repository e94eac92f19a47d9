import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import { makeMessage, MessageType } from '../../src/raft/types.js';
import { encodeMessage } from '../../src/transport/raft/codec.js';
import { encodeHello, encodeSnapshotEnd, Lane } from '../../src/transport/raft/control-codec.js';
import { encodeFrame, FrameKind } from '../../src/transport/raft/frame.js';
import { CLUSTER, connectAll, MemorySink, startNode, waitFor, type TestNode } from './harness.js';
import { randomBytes } from './gen.js';

const FRAME_MAX = 8 * 1024 * 1024;
const open: TestNode[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.transport.close()));
});

interface RawClient {
  readonly socket: Socket;
  closed: boolean;
}

async function rawClient(port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port });
  const client: RawClient = { socket, closed: false };
  socket.on('error', () => undefined);
  socket.on('data', () => undefined); // discard the hello ack
  socket.on('close', () => (client.closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return client;
}

const hello = (from: number, to: number, lane: number = Lane.Priority): Uint8Array =>
  encodeFrame(FrameKind.Hello, encodeHello({ lane: lane as Lane, from, to, clusterId: CLUSTER }), FRAME_MAX);
const messageFrame = (from: number, to: number, commit: number): Uint8Array =>
  encodeFrame(FrameKind.Message, encodeMessage(makeMessage({ type: MessageType.Heartbeat, from, to, commit })), FRAME_MAX);

/** A connection the listener must close and count; returns after it did. */
async function expectClosed(port: number, bytes: Uint8Array, what: string): Promise<void> {
  const c = await rawClient(port);
  c.socket.write(bytes);
  await waitFor(() => c.closed, `server closing the connection after ${what}`, 5_000);
}

describe('hostile input on the raft port', () => {
  it('closes and counts every malformed connection, and keeps delivering valid messages', async () => {
    const a = await startNode(1, { limits: { handshakeTimeoutMs: 300, frameBytesMax: 64 * 1024, snapshotChunkBytes: 16 * 1024 } });
    const b = await startNode(2);
    open.push(a, b);
    connectAll([a, b]);
    const port = a.transport.address().port;
    const rng = new SeededRandom(99);
    const closedBefore = (): number => a.transport.stats().frameErrors + a.transport.stats().handshakeTimeouts;

    const cases: Array<[string, Uint8Array]> = [
      ['an oversized length prefix', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 1)],
      ['a length just over the limit', Uint8Array.of(0, 1, 0, 0, 1, 1)],
      ['an unknown version', Uint8Array.of(0, 0, 0, 2, 7, 1)],
      ['an unknown frame kind', Uint8Array.of(0, 0, 0, 2, 1, 200)],
      ['a message before the hello', messageFrame(2, 1, 1)],
      ['a hello from another cluster', encodeFrame(FrameKind.Hello, encodeHello({ lane: Lane.Bulk, from: 2, to: 1, clusterId: 'evil' }), FRAME_MAX)],
      ['a hello for another node', hello(2, 7)],
      ['a hello then a snapshot chunk on a message lane', Uint8Array.of(...hello(2, 1), ...encodeFrame(FrameKind.SnapshotChunk, Uint8Array.of(1), FRAME_MAX))],
      ['a hello then a garbage message', Uint8Array.of(...hello(2, 1), ...encodeFrame(FrameKind.Message, randomBytes(rng, 40), FRAME_MAX))],
      ['a hello then an oversized frame', Uint8Array.of(...hello(2, 1), 0x00, 0x10, 0x00, 0x00)],
      ['a snapshot lane starting with a chunk', Uint8Array.of(...hello(2, 1, Lane.Snapshot), ...encodeFrame(FrameKind.SnapshotChunk, Uint8Array.of(1), FRAME_MAX))],
      ['silence (handshake timeout)', new Uint8Array(0)],
    ];
    for (const [what, bytes] of cases) {
      const before = closedBefore();
      await expectClosed(port, bytes, what);
      await waitFor(() => closedBefore() === before + 1, `${what} to be counted once`);
    }
    const reasons = a.transport.stats().frameErrorsByReason;
    expect(reasons).toMatchObject({ oversized: 3, 'bad-version': 1, 'bad-kind': 1, handshake: 3, 'unexpected-frame': 2 });

    for (let i = 0; i < 40; i++) await expectClosed(port, randomBytes(rng, 1 + rng.int(200)), `random bytes #${i}`);
    for (let i = 0; i < 20; i++) {
      const valid = Uint8Array.of(...hello(2, 1), ...messageFrame(2, 1, 5));
      const bit = 8 * 6 + rng.int((valid.byteLength - 6) * 8); // flip a bit anywhere past the first header
      valid[bit >> 3] = (valid[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const c = await rawClient(port);
      c.socket.write(valid);
      c.socket.end(); // a flipped length leaves a partial frame: the end must still be handled
      await waitFor(() => c.closed, `bit flip #${i}`, 5_000);
    }
    expect(a.transport.stats().connectionsAccepted).toBeGreaterThanOrEqual(cases.length + 60);

    // The real peer is unaffected.
    b.transport.send(makeMessage({ type: MessageType.Heartbeat, from: 2, to: 1, commit: 77 }));
    await waitFor(() => a.rec.messages.some((m) => m.commit === 77), 'valid message after the abuse');
  });

  it('drops messages whose from/to do not match the connection, without closing it', async () => {
    const a = await startNode(1);
    open.push(a);
    const c = await rawClient(a.transport.address().port);
    c.socket.write(Uint8Array.of(...hello(2, 1), ...messageFrame(3, 1, 1), ...messageFrame(2, 4, 2), ...messageFrame(2, 1, 3)));
    await waitFor(() => a.rec.messages.length === 1, 'the well-addressed message');
    expect(a.rec.messages[0]?.commit).toBe(3);
    expect(a.transport.stats().misaddressedMessages).toBe(2);
    expect(c.closed).toBe(false);
    c.socket.destroy();
  });

  it('aborts the sink and delivers nothing when a snapshot stream ends with a wrong length or CRC', async () => {
    const sinks: MemorySink[] = [];
    const a = await startNode(1, {
      createSnapshotSink: async () => {
        const sink = new MemorySink();
        sinks.push(sink);
        return sink;
      },
    });
    open.push(a);
    const snapMessage = makeMessage({ type: MessageType.Snap, from: 2, to: 1, snapshot: { meta: { index: 5, term: 1, conf: { voters: [1, 2], learners: [] } }, data: new Uint8Array(0) } });
    const begin = encodeFrame(FrameKind.SnapshotBegin, encodeMessage(snapMessage), FRAME_MAX);
    const chunk = encodeFrame(FrameKind.SnapshotChunk, Uint8Array.of(1, 2, 3), FRAME_MAX);
    for (const end of [{ totalBytes: 3, crc32: 12345 }, { totalBytes: 4, crc32: 0 }]) {
      const c = await rawClient(a.transport.address().port);
      c.socket.write(Uint8Array.of(...hello(2, 1, Lane.Snapshot), ...begin, ...chunk, ...encodeFrame(FrameKind.SnapshotEnd, encodeSnapshotEnd(end), FRAME_MAX)));
      await waitFor(() => c.closed, 'connection closed after a bad snapshot end');
    }
    await waitFor(() => sinks.length === 2 && sinks.every((s) => s.aborted !== null), 'both sinks aborted');
    expect(sinks.every((s) => !s.finished)).toBe(true);
    expect(a.rec.messages).toHaveLength(0);
    expect(a.transport.stats()).toMatchObject({ snapshotReceiveFailures: 2, snapshotsReceived: 0 });
  });

  it('refuses connections beyond inboundConnectionsMax and closes everything on close()', async () => {
    const a = await startNode(1, { limits: { inboundConnectionsMax: 2 } });
    const port = a.transport.address().port;
    const clients = [await rawClient(port), await rawClient(port), await rawClient(port)];
    await waitFor(() => a.transport.stats().connectionsRefused === 1, 'third connection refused');
    await a.transport.close();
    await waitFor(() => clients.every((c) => c.closed), 'all sockets closed by close()');
  });
});
