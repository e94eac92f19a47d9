import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import { makeMessage, MessageType, type Message, type NodeId } from '../../src/raft/types.js';
import { ManualScheduler, MemoryNetwork, realScheduler, type Scheduler } from '../../src/transport/raft/memory-network.js';
import { MemoryTransport } from '../../src/transport/raft/memory-transport.js';
import type { RaftTransportOptions } from '../../src/transport/raft/types.js';
import { MemorySink, recorder, waitFor, type Recorder } from './harness.js';

async function cluster(ids: NodeId[], scheduler: Scheduler, extra: Partial<RaftTransportOptions> = {}, seed = 1) {
  const network = new MemoryNetwork(new SeededRandom(seed), scheduler);
  const nodes = new Map<NodeId, { t: MemoryTransport; rec: Recorder }>();
  for (const id of ids) {
    const rec = recorder();
    const t = new MemoryTransport(network, {
      localId: id, clusterId: 'c',
      onMessage: (m) => rec.messages.push(m),
      onUnreachable: (p) => rec.unreachable.push(p),
      onSnapshotStatus: (peerId, ok) => rec.snapshotStatus.push({ peerId, ok }),
      ...extra,
    });
    await t.start();
    nodes.set(id, { t, rec });
  }
  const get = (id: NodeId) => {
    const n = nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  };
  return { network, get };
}

const hb = (from: NodeId, to: NodeId, commit: number): Message => makeMessage({ type: MessageType.Heartbeat, from, to, commit });

describe('MemoryTransport', () => {
  it('delivers through the scheduler, never inside send()', async () => {
    const s = new ManualScheduler();
    const { get } = await cluster([1, 2], s);
    get(1).t.send(hb(1, 2, 5));
    expect(get(2).rec.messages).toHaveLength(0);
    s.advance(0);
    expect(get(2).rec.messages.map((m) => m.commit)).toEqual([5]);
  });

  it('copies messages: the sender mutating its buffers after send changes nothing', async () => {
    const s = new ManualScheduler();
    const { get } = await cluster([1, 2], s);
    const data = Uint8Array.of(1, 2, 3);
    get(1).t.send(makeMessage({ type: MessageType.App, from: 1, to: 2, entries: [{ term: 1, index: 1, type: 0, data }] }));
    data[0] = 9;
    s.advance(0);
    expect(Array.from(get(2).rec.messages[0]?.entries[0]?.data ?? [])).toEqual([1, 2, 3]);
  });

  it('delays and reorders by the injected delay, in virtual time', async () => {
    const s = new ManualScheduler();
    const { network, get } = await cluster([1, 2], s);
    let delay = 30;
    network.faults.delayMs = () => (delay -= 10);
    for (const c of [1, 2, 3]) get(1).t.send(hb(1, 2, c)); // delays 20, 10, 0
    s.advance(9);
    expect(get(2).rec.messages.map((m) => m.commit)).toEqual([3]);
    s.advance(20);
    expect(get(2).rec.messages.map((m) => m.commit)).toEqual([3, 2, 1]);
  });

  it('drops at the configured rate, reproducibly from the seed, and duplicates', async () => {
    const run = async (seed: number) => {
      const s = new ManualScheduler();
      const { network, get } = await cluster([1, 2], s, {}, seed);
      network.faults.dropRate = 0.3;
      for (let i = 0; i < 1000; i++) get(1).t.send(hb(1, 2, i));
      s.advance(0);
      return { got: get(2).rec.messages.map((m) => m.commit), counters: { ...network.counters } };
    };
    const first = await run(5);
    expect(first.got.length).toBeGreaterThan(600);
    expect(first.got.length).toBeLessThan(800);
    expect(first.counters.delivered + first.counters.dropped).toBe(1000);
    expect((await run(5)).got).toEqual(first.got);

    const s = new ManualScheduler();
    const { network, get } = await cluster([1, 2], s);
    network.faults.duplicateRate = 1;
    get(1).t.send(hb(1, 2, 1));
    s.advance(0);
    expect(get(2).rec.messages).toHaveLength(2);
  });

  it('partitions and heals, including messages cut while in flight', async () => {
    const s = new ManualScheduler();
    const { network, get } = await cluster([1, 2, 3], s);
    network.partition([[1], [2, 3]]);
    get(1).t.send(hb(1, 2, 1));
    get(2).t.send(hb(2, 1, 1));
    get(2).t.send(hb(2, 3, 1));
    s.advance(0);
    expect([get(1).rec.messages.length, get(2).rec.messages.length, get(3).rec.messages.length]).toEqual([0, 0, 1]);
    network.heal();
    network.faults.delayMs = () => 50;
    get(1).t.send(hb(1, 2, 2));
    s.advance(10);
    network.cutLink(1, 2);
    s.advance(100);
    expect(get(2).rec.messages).toHaveLength(0);
    network.heal();
    get(1).t.send(hb(1, 2, 3));
    s.advance(100);
    expect(get(2).rec.messages.map((m) => m.commit)).toEqual([3]);
  });

  it('reports unreachable for absent peers and for a full in-flight window', async () => {
    const s = new ManualScheduler();
    const { network, get } = await cluster([1, 2], s, { limits: { peerQueueMessagesMax: 3 } });
    get(1).t.send(hb(1, 7, 1));
    network.faults.delayMs = () => 100;
    for (let i = 0; i < 5; i++) get(1).t.send(hb(1, 2, i));
    s.advance(0);
    expect(get(1).rec.unreachable).toEqual([7, 2]); // one report per peer per turn
    expect(get(1).t.stats()).toMatchObject({ droppedNoAddress: 1, droppedQueueFull: 2, messagesSent: 3 });
    s.advance(100);
    get(1).t.send(hb(1, 2, 9)); // the window reopened once those were delivered
    s.advance(100);
    expect(get(2).rec.messages).toHaveLength(4);
    await get(2).t.close();
    get(1).t.send(hb(1, 2, 10));
    s.advance(0);
    expect(get(1).rec.unreachable).toEqual([7, 2, 2]);
  });

  it('streams snapshots into the sink before delivering, and fails on a partition', async () => {
    const sinks: MemorySink[] = [];
    const data = new Uint8Array(600 * 1024).map((_, i) => i % 251);
    const { network, get } = await cluster([1, 2], realScheduler, {
      async *openSnapshot() {
        for (let off = 0; off < data.byteLength; off += 100_000) {
          yield data.subarray(off, off + 100_000);
          await new Promise((r) => setImmediate(r));
        }
      },
      createSnapshotSink: async () => {
        const sink = new MemorySink();
        sinks.push(sink);
        return sink;
      },
    });
    const snap = makeMessage({ type: MessageType.Snap, from: 1, to: 2, snapshot: { meta: { index: 9, term: 2, conf: { voters: [1, 2], learners: [] } }, data: new Uint8Array(0) } });
    get(1).t.send(snap);
    await waitFor(() => get(1).rec.snapshotStatus.length === 1, 'snapshot status');
    expect(get(1).rec.snapshotStatus[0]).toEqual({ peerId: 2, ok: true });
    expect(sinks[0]?.finished).toBe(true);
    expect(sinks[0]?.concat().equals(Buffer.from(data))).toBe(true);
    expect(get(2).rec.messages[0]?.snapshot?.meta.index).toBe(9);

    get(1).t.send(snap);
    await waitFor(() => sinks.length === 2, 'second stream started');
    network.partition([[1], [2]]);
    await waitFor(() => get(1).rec.snapshotStatus.length === 2, 'second status');
    expect(get(1).rec.snapshotStatus[1]).toEqual({ peerId: 2, ok: false });
    expect(sinks[1]?.aborted).not.toBeNull();
    expect(get(2).rec.messages).toHaveLength(1);
  });

  it('delivers inline snapshot data when the receiver has no sink', async () => {
    const { get } = await cluster([1, 2], realScheduler);
    get(1).t.send(makeMessage({ type: MessageType.Snap, from: 1, to: 2, snapshot: { meta: { index: 3, term: 1, conf: { voters: [1], learners: [] } }, data: Uint8Array.of(4, 5) } }));
    await waitFor(() => get(2).rec.messages.length === 1, 'snap');
    expect(Array.from(get(2).rec.messages[0]?.snapshot?.data ?? [])).toEqual([4, 5]);
  });
});
