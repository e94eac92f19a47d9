import { describe, expect, it } from 'vitest';
import { SeededRandom, type Random } from '../../src/common/random.js';
import { parseHostPort } from '../../src/transport/raft/address.js';
import { reconnectDelayMs } from '../../src/transport/raft/backoff.js';
import { FrameQueue } from '../../src/transport/raft/frame-queue.js';
import { defaultTransportLimits, resolveLimits } from '../../src/transport/raft/limits.js';

const fixed = (f: number): Random => ({ float: () => f, int: (n) => Math.floor(f * n) });

describe('reconnect backoff', () => {
  it.each([
    [1, 0, 25], [1, 0.999, 49], [2, 0, 50], [3, 0, 100], [8, 0, 2500], [8, 0.999, 4997], [40, 0, 2500], [1e9, 0.5, 3750],
  ])('attempt %d with jitter %d waits %d ms (min 50, max 5000)', (attempt, jitter, expected) => {
    expect(reconnectDelayMs(attempt, 50, 5000, fixed(jitter))).toBe(expected);
  });

  it('never exceeds the cap and never drops below half the nominal delay', () => {
    const rng = new SeededRandom(1);
    for (let attempt = 1; attempt < 60; attempt++) {
      const d = reconnectDelayMs(attempt, 10, 1000, rng);
      const nominal = Math.min(1000, 10 * 2 ** (attempt - 1));
      expect(d).toBeGreaterThanOrEqual(Math.floor(nominal / 2));
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe('FrameQueue', () => {
  it('bounds by count and by bytes, and stays FIFO across compaction', () => {
    const q = new FrameQueue(200, 1000);
    for (let i = 0; i < 200; i++) expect(q.offer(Uint8Array.of(i % 256))).toBe(true);
    expect(q.offer(Uint8Array.of(0))).toBe(false);
    for (let i = 0; i < 150; i++) expect(q.poll()?.[0]).toBe(i % 256);
    expect(q.length).toBe(50);
    expect(q.queuedBytes).toBe(50);
    expect(q.offer(new Uint8Array(951))).toBe(false);
    expect(q.offer(new Uint8Array(950))).toBe(true);
    expect(q.poll()?.[0]).toBe(150);
    expect(q.clear()).toBe(50);
    expect(q.poll()).toBeUndefined();
    expect(q.queuedBytes).toBe(0);
  });
});

describe('addresses and limits', () => {
  it.each([
    ['127.0.0.1:7000', { host: '127.0.0.1', port: 7000 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['node-a.local:65535', { host: 'node-a.local', port: 65535 }],
  ])('parses %s', (s, expected) => expect(parseHostPort(s)).toEqual(expected));

  it.each(['127.0.0.1', '127.0.0.1:0', ':80', 'host:99999', '::1:80', 'a:b'])('refuses %s', (s) => {
    expect(() => parseHostPort(s)).toThrow(/bad address/);
  });

  it('validates limits', () => {
    expect(resolveLimits(undefined)).toEqual(defaultTransportLimits);
    expect(defaultTransportLimits.frameBytesMax).toBe(8 * 1024 * 1024);
    expect(() => resolveLimits({ peerQueueMessagesMax: 0 })).toThrow(/positive integer/);
    expect(() => resolveLimits({ snapshotChunkBytes: 9 * 1024 * 1024 })).toThrow(/snapshotChunkBytes/);
    expect(() => resolveLimits({ inflightBytesMax: 100 })).toThrow(/inflightBytesMax/);
    expect(() => resolveLimits({ reconnectBackoffMsMin: 10, reconnectBackoffMsMax: 5 })).toThrow(/reconnectBackoffMsMin/);
  });
});
