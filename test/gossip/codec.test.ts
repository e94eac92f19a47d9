import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import {
  BroadcastQueue, decodeMeta, decodePacket, decodePushPull, encodeMessage, encodeMeta, encodePacket, encodePushPull,
  GossipCore, MemberState, WireError,
} from '../../src/gossip/index.js';
import type { Message } from '../../src/gossip/index.js';

const samples: Message[] = [
  { type: 'ping', seq: 1, target: 'n1' },
  { type: 'indirectPing', seq: 0xffffffff, target: 'ñødé', targetAddr: '127.0.0.1:7946', nack: true },
  { type: 'ack', seq: 7 },
  { type: 'nack', seq: 8 },
  { type: 'suspect', incarnation: 3, node: 'a', from: 'b' },
  { type: 'alive', incarnation: 9, node: 'a', addr: '[::1]:1', meta: new Uint8Array([1, 2, 3]) },
  { type: 'dead', incarnation: 4, node: 'a', from: 'a' },
];

describe('gossip codec', () => {
  it('round-trips every message alone and in a compound packet', () => {
    for (const m of samples) expect(decodePacket(encodePacket([encodeMessage(m)]))).toEqual([m]);
    expect(decodePacket(encodePacket(samples.map(encodeMessage)))).toEqual(samples);
  });

  it('round-trips push/pull state and metadata', () => {
    const meta = encodeMeta({ nodeId: '1', raftAddr: 'h:1', grpcAddr: 'h:2', version: '0.1.0', tags: { voter: 'true' } }, 512);
    const payload = { join: true, states: [{ name: 'x', addr: 'h:3', meta, incarnation: 2, state: MemberState.Left }] };
    expect(decodePushPull(encodePushPull(payload), 10)).toEqual(payload);
    expect(decodeMeta(meta)).toEqual({ nodeId: '1', raftAddr: 'h:1', grpcAddr: 'h:2', version: '0.1.0', tags: { voter: 'true' } });
    expect(() => decodePushPull(encodePushPull(payload), 0)).toThrow(WireError);
  });

  it('rejects metadata beyond the limit', () => {
    expect(() => encodeMeta({ nodeId: 'x'.repeat(200), raftAddr: 'y'.repeat(200), grpcAddr: 'z'.repeat(200), version: '', tags: {} }, 512))
      .toThrow(/max 512/);
  });

  it('throws only WireError on truncated, wrong-version and random input', () => {
    const rnd = new SeededRandom(42);
    const valid = encodePacket(samples.map(encodeMessage));
    for (let cut = 0; cut < valid.length; cut++) expect(() => decodePacket(valid.subarray(0, cut))).toThrow(WireError);
    expect(() => decodePacket(Uint8Array.of(2, 2, 0, 0, 0, 1))).toThrow(WireError);
    for (let i = 0; i < 5_000; i++) {
      const bytes = new Uint8Array(rnd.int(64));
      for (let j = 0; j < bytes.length; j++) bytes[j] = rnd.int(256);
      if (rnd.chance(0.5) && bytes.length > 1) bytes[0] = 1; // mostly past the version check
      try {
        decodePacket(bytes);
        decodePushPull(bytes, 100);
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
      }
      expect(decodeMeta(bytes) === null || typeof decodeMeta(bytes) === 'object').toBe(true);
    }
  });

  it('the core counts garbage and oversized packets instead of throwing', () => {
    const rnd = new SeededRandom(7);
    const core = new GossipCore({ name: 'a', advertiseAddr: 'a:1' }, rnd, { nodeId: 'a', raftAddr: '', grpcAddr: '', version: '', tags: {} }, 0);
    for (let i = 0; i < 5000; i++) {
      const bytes = new Uint8Array(rnd.int(100));
      for (let j = 0; j < bytes.length; j++) bytes[j] = rnd.int(256);
      if (bytes.length > 0) bytes[0] = 1;
      core.handlePacket('b:1', bytes, i);
      expect(core.handleStream('b:1', bytes, i)).toBeNull();
    }
    core.handlePacket('b:1', new Uint8Array(2000), 6000);
    expect(core.stats.oversizedPackets).toBe(1);
    expect(core.stats.malformedPackets).toBeGreaterThan(4000);
    expect(core.stats.malformedStreams).toBe(5000);
  });
});

describe('BroadcastQueue', () => {
  it('retires after the limit, prefers fresh messages, replaces by key, and stays bounded', () => {
    const q = new BroadcastQueue(3);
    q.queue('a', new Uint8Array(10));
    for (let i = 0; i < 3; i++) expect(q.take(2, 100, 3)).toHaveLength(1);
    expect(q.length).toBe(0);
    q.queue('a', Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0));
    q.take(2, 100, 10);
    q.queue('b', Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(q.take(2, 11, 10)[0]?.[0]).toBe(2);
    q.queue('b', Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(q.length).toBe(2);
    q.queue('c', new Uint8Array(9));
    q.queue('d', new Uint8Array(9));
    expect(q.length).toBe(3);
    expect(q.dropped).toBe(1);
    const before = q.peek(2, 1000).length;
    expect(q.peek(2, 1000).length).toBe(before);
  });
});
