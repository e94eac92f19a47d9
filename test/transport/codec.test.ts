import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import { makeMessage, MessageType, type Message } from '../../src/raft/types.js';
import { decodeMessage, encodeMessage, encodeMessageFrame } from '../../src/transport/raft/codec.js';
import { FrameError, FrameErrorReason } from '../../src/transport/raft/errors.js';
import { encodeFrame, FrameDecoder, FrameKind } from '../../src/transport/raft/frame.js';
import { decodeHello, encodeHello, Lane } from '../../src/transport/raft/control-codec.js';
import { plain, randomBytes, randomMessage } from './gen.js';

const FRAME_MAX = 8 * 1024 * 1024;

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FrameError) return e.reason;
    throw e;
  }
  return 'ok';
}

/** Decoding garbage must either produce a message that re-encodes to the same bytes, or a FrameError. */
function decodeOrFrameError(bytes: Uint8Array): 'ok' | 'error' {
  let m: Message;
  try {
    m = decodeMessage(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(FrameError);
    return 'error';
  }
  expect(Array.from(encodeMessage(m))).toEqual(Array.from(bytes));
  return 'ok';
}

describe('message codec', () => {
  const heartbeat = makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2, term: 7, commit: 5, context: Uint8Array.of(9) });

  it('encodes a heartbeat in a fixed small size', () => {
    expect(encodeMessage(heartbeat).byteLength).toBe(67 + 1);
  });

  it.each([
    ['app with entries', makeMessage({ type: MessageType.App, from: 1, to: 2, term: 3, logTerm: 2, index: 10, commit: 9, entries: [{ term: 3, index: 11, type: 0, data: Uint8Array.of(1, 2, 3) }, { term: 3, index: 12, type: 1, data: new Uint8Array(0) }] })],
    ['rejecting append response', makeMessage({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 10, reject: true, rejectHint: 4, logTerm: 2 })],
    ['snap with conf state and empty data', makeMessage({ type: MessageType.Snap, from: 1, to: 3, term: 4, snapshot: { meta: { index: 100, term: 4, conf: { voters: [1, 2, 3], learners: [4] } }, data: new Uint8Array(0) } })],
    ['max safe integers', makeMessage({ type: MessageType.Vote, from: Number.MAX_SAFE_INTEGER, to: 1, term: Number.MAX_SAFE_INTEGER, index: 2 ** 40 + 3, logTerm: 2 ** 33 })],
    ['read index with context', makeMessage({ type: MessageType.ReadIndexResp, from: 1, to: 2, index: 77, context: new TextEncoder().encode('req-42') })],
  ])('round-trips %s', (_name, m) => {
    expect(plain(decodeMessage(encodeMessage(m)))).toEqual(plain(m));
  });

  it('round-trips 600 random messages', () => {
    const rng = new SeededRandom(1);
    for (let i = 0; i < 600; i++) {
      const m = randomMessage(rng);
      expect(plain(decodeMessage(encodeMessage(m)))).toEqual(plain(m));
    }
  });

  it('carries entry data byte for byte, including large payloads', () => {
    const data = randomBytes(new SeededRandom(2), 1 << 20);
    const m = makeMessage({ type: MessageType.App, from: 1, to: 2, entries: [{ term: 1, index: 1, type: 0, data }] });
    const out = decodeMessage(encodeMessage(m)).entries[0]?.data;
    expect(out?.byteLength).toBe(data.byteLength);
    expect(Buffer.from(out ?? []).equals(Buffer.from(data))).toBe(true);
  });

  it.each([
    ['local message type', () => encodeMessage(makeMessage({ type: MessageType.Hup, from: 1, to: 2 }))],
    ['node 0', () => encodeMessage(makeMessage({ type: MessageType.Vote, from: 0, to: 2 }))],
    ['negative term', () => encodeMessage(makeMessage({ type: MessageType.Vote, from: 1, to: 2, term: -1 }))],
    ['fractional index', () => encodeMessage(makeMessage({ type: MessageType.Vote, from: 1, to: 2, index: 1.5 }))],
    ['unsafe integer', () => encodeMessage(makeMessage({ type: MessageType.Vote, from: 1, to: 2, commit: 2 ** 60 }))],
  ])('refuses to encode %s', (_name, fn) => {
    expect(reasonOf(fn)).toBe(FrameErrorReason.Unencodable);
  });

  it('refuses to frame a message bigger than the frame limit', () => {
    const m = makeMessage({ type: MessageType.App, from: 1, to: 2, entries: [{ term: 1, index: 1, type: 0, data: new Uint8Array(2048) }] });
    expect(reasonOf(() => encodeMessageFrame(m, 1024))).toBe(FrameErrorReason.Oversized);
  });

  const valid = encodeMessage(heartbeat);
  const patched = (offset: number, value: number): Uint8Array => {
    const copy = valid.slice();
    copy[offset] = value;
    return copy;
  };
  it.each([
    ['empty input', new Uint8Array(0), FrameErrorReason.Truncated],
    ['unknown message type', patched(0, 99), FrameErrorReason.BadEnum],
    ['local message type', patched(0, 2), FrameErrorReason.BadEnum],
    ['from = 0', (() => { const c = valid.slice(); c.fill(0, 1, 9); return c; })(), FrameErrorReason.BadValue],
    ['u64 beyond 2^53', patched(17, 0xff), FrameErrorReason.BadValue],
    ['reject byte 2', patched(49, 2), FrameErrorReason.BadEnum],
    ['context length past the end', patched(58, 0x7f), FrameErrorReason.Truncated],
    ['entry count beyond the input', patched(63, 0x7f), FrameErrorReason.BadCount],
    ['trailing bytes', Uint8Array.of(...valid, 0), FrameErrorReason.TrailingBytes],
    ['truncated', valid.subarray(0, valid.byteLength - 1), FrameErrorReason.Truncated],
  ])('rejects %s', (_name, bytes, reason) => {
    expect(reasonOf(() => decodeMessage(bytes))).toBe(reason);
  });

  it('fuzz: random bytes, truncations and bit flips yield a valid message or a FrameError', () => {
    const rng = new SeededRandom(3);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < 1500; i++) {
      const encoded = encodeMessage(randomMessage(rng));
      outcomes[decodeOrFrameError(randomBytes(rng, rng.int(120)))]++;
      outcomes[decodeOrFrameError(encoded.subarray(0, rng.int(encoded.byteLength)))]++;
      const flipped = encoded.slice();
      const bit = rng.int(flipped.byteLength * 8);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      outcomes[decodeOrFrameError(flipped)]++;
    }
    expect(outcomes.error).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0); // some flips land in values, and must still decode
  });
});

describe('frame decoder', () => {
  const payload = encodeMessage(makeMessage({ type: MessageType.Heartbeat, from: 1, to: 2 }));
  const frame = encodeFrame(FrameKind.Message, payload, FRAME_MAX);

  it('reassembles frames split at every byte boundary and packed together', () => {
    const stream = Uint8Array.of(...frame, ...encodeFrame(FrameKind.HelloAck, new Uint8Array(0), FRAME_MAX), ...frame);
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      const d = new FrameDecoder(FRAME_MAX);
      const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(frames.map((f) => f.kind)).toEqual([FrameKind.Message, FrameKind.HelloAck, FrameKind.Message]);
      expect(Array.from(frames[2]?.payload ?? [])).toEqual(Array.from(payload));
      expect(d.idle).toBe(true);
    }
  });

  it('reassembles a large frame fed in small uneven pieces', () => {
    const big = randomBytes(new SeededRandom(5), 1024 * 1024 + 7);
    const stream = encodeFrame(FrameKind.SnapshotChunk, big, FRAME_MAX);
    const d = new FrameDecoder(FRAME_MAX);
    const frames = [];
    for (let off = 0, step = 1; off < stream.byteLength; off += step, step = (step * 7 + 3) % 5000) {
      frames.push(...d.push(stream.subarray(off, off + step)));
    }
    expect(frames).toHaveLength(1);
    expect(Buffer.from(frames[0]?.payload ?? []).equals(Buffer.from(big))).toBe(true);
  });

  it.each([
    ['oversized length prefix', Uint8Array.of(0x7f, 0xff, 0xff, 0xff), FrameErrorReason.Oversized],
    ['length below the header', Uint8Array.of(0, 0, 0, 1), FrameErrorReason.BadLength],
    ['unknown version', Uint8Array.of(0, 0, 0, 2, 9), FrameErrorReason.BadVersion],
    ['unknown kind', Uint8Array.of(0, 0, 0, 2, 1, 42), FrameErrorReason.BadKind],
    ['kind zero', Uint8Array.of(0, 0, 0, 2, 1, 0), FrameErrorReason.BadKind],
  ])('rejects %s as soon as the header shows it', (_name, bytes, reason) => {
    const d = new FrameDecoder(1024 * 1024);
    expect(reasonOf(() => d.push(bytes))).toBe(reason);
    expect(reasonOf(() => d.push(frame))).toBe(reason); // poisoned: the connection must close
  });

  it('fuzz: random streams never throw anything but FrameError', () => {
    const rng = new SeededRandom(4);
    for (let i = 0; i < 2000; i++) {
      const d = new FrameDecoder(4096);
      const stream = rng.int(2) === 0 ? randomBytes(rng, rng.int(64)) : Uint8Array.of(0, 0, 0, rng.int(30), 1, 1 + rng.int(7), ...randomBytes(rng, rng.int(40)));
      try {
        for (const f of d.push(stream)) expect(f.kind).toBeGreaterThanOrEqual(1);
      } catch (e) {
        expect(e).toBeInstanceOf(FrameError);
      }
    }
  });
});

describe('hello codec', () => {
  it('round-trips and validates the lane, ids and cluster id', () => {
    const hello = { lane: Lane.Priority, from: 3, to: 1, clusterId: 'prod-κ' } as const;
    expect(decodeHello(encodeHello(hello), 128)).toEqual(hello);
    expect(reasonOf(() => decodeHello(encodeHello(hello), 4))).toBe(FrameErrorReason.BadLength);
    const badLane = encodeHello(hello);
    badLane[0] = 9;
    expect(reasonOf(() => decodeHello(badLane, 128))).toBe(FrameErrorReason.BadEnum);
    const badUtf8 = encodeHello({ ...hello, clusterId: 'ab' });
    badUtf8[badUtf8.byteLength - 1] = 0xff;
    expect(reasonOf(() => decodeHello(badUtf8, 128))).toBe(FrameErrorReason.BadValue);
  });
});
