/**
 * The frames of the forwarding stream (forward-stream.ts): a follower multiplexes the unary calls it
 * forwards to the leader over one long-lived bidi stream instead of one HTTP/2 stream per call.
 * Each frame is one gRPC message, in a small binary layout (no protobuf codegen needed):
 *
 *   call:   u8 1 | u32 id | f64 deadline (ms since epoch, or +Inf) | str path | metadata | request bytes…
 *   cancel: u8 2 | u32 id
 *   ok:     u8 3 | u32 id | response bytes…
 *   error:  u8 4 | u32 id | u32 gRPC code | str details | metadata
 *
 * str: u32 byte length then UTF-8; metadata: u16 count then (str key, str value) pairs (string
 * values only: binary `-bin` entries are not carried).
 */

export const FrameKind = { Call: 1, Cancel: 2, Ok: 3, Error: 4 } as const;

export type Frame =
  | { kind: typeof FrameKind.Call; id: number; deadlineMs: number; path: string; metadata: [string, string][]; body: Buffer }
  | { kind: typeof FrameKind.Cancel; id: number }
  | { kind: typeof FrameKind.Ok; id: number; body: Buffer }
  | { kind: typeof FrameKind.Error; id: number; code: number; details: string; metadata: [string, string][] };

/** A frame that does not parse: the peer is broken (or not a member); the stream is closed. */
export class BadFrameError extends Error {
  override readonly name = 'BadFrameError';
}

export function encodeFrame(f: Frame): Buffer {
  const w = new Writer();
  w.u8(f.kind);
  w.u32(f.id);
  switch (f.kind) {
    case FrameKind.Call:
      w.f64(f.deadlineMs);
      w.str(f.path);
      w.metadata(f.metadata);
      return w.finish(f.body);
    case FrameKind.Cancel:
      return w.finish();
    case FrameKind.Ok:
      return w.finish(f.body);
    case FrameKind.Error:
      w.u32(f.code);
      w.str(f.details);
      w.metadata(f.metadata);
      return w.finish();
  }
}

export function decodeFrame(b: Buffer): Frame {
  const r = new Reader(b);
  const kind = r.u8();
  const id = r.u32();
  switch (kind) {
    case FrameKind.Call: {
      const deadlineMs = r.f64();
      const path = r.str();
      const metadata = r.metadata();
      return { kind, id, deadlineMs, path, metadata, body: r.rest() };
    }
    case FrameKind.Cancel:
      return { kind, id };
    case FrameKind.Ok:
      return { kind, id, body: r.rest() };
    case FrameKind.Error: {
      const code = r.u32();
      const details = r.str();
      return { kind, id, code, details, metadata: r.metadata() };
    }
    default:
      throw new BadFrameError(`unknown forwarding frame kind ${kind}`);
  }
}

class Writer {
  private readonly parts: Buffer[] = [];

  u8(v: number): void {
    this.parts.push(Buffer.of(v));
  }

  u32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
  }

  f64(v: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(v);
    this.parts.push(b);
  }

  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.byteLength);
    this.parts.push(b);
  }

  metadata(entries: readonly [string, string][]): void {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(entries.length);
    this.parts.push(b);
    for (const [k, v] of entries) {
      this.str(k);
      this.str(v);
    }
  }

  finish(tail?: Buffer): Buffer {
    if (tail) this.parts.push(tail);
    return Buffer.concat(this.parts);
  }
}

/** Metadata entries per frame beyond which a frame is refused (a member sends a handful). */
const METADATA_ENTRIES_MAX = 64;

class Reader {
  private at = 0;

  constructor(private readonly b: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.b.byteLength) throw new BadFrameError('truncated forwarding frame');
  }

  u8(): number {
    this.need(1);
    return this.b.readUInt8(this.at++);
  }

  u32(): number {
    this.need(4);
    const v = this.b.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.b.readDoubleBE(this.at);
    this.at += 8;
    return v;
  }

  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.b.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  metadata(): [string, string][] {
    this.need(2);
    const n = this.b.readUInt16BE(this.at);
    this.at += 2;
    if (n > METADATA_ENTRIES_MAX) throw new BadFrameError(`forwarding frame with ${n} metadata entries (limit ${METADATA_ENTRIES_MAX})`);
    const out: [string, string][] = [];
    for (let i = 0; i < n; i++) out.push([this.str(), this.str()]);
    return out;
  }

  rest(): Buffer {
    return this.b.subarray(this.at);
  }
}
