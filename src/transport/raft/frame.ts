import { FrameError, FrameErrorReason } from './errors.js';

/** Frame layout: [u32 length of what follows][u8 version][u8 kind][payload]. */
export const FRAME_VERSION = 1;
export const FRAME_LENGTH_BYTES = 4;
export const FRAME_HEADER_BYTES = 6;

export const FrameKind = {
  /** Dialer → listener, first frame of every connection: who I am, whom I want, which lane. */
  Hello: 1,
  /** Listener → dialer: the hello was accepted. */
  HelloAck: 2,
  /** One raft Message. */
  Message: 3,
  /** Snapshot lane: the Snap message (with its data stripped); chunks follow. */
  SnapshotBegin: 4,
  /** Snapshot lane: raw snapshot bytes. */
  SnapshotChunk: 5,
  /** Snapshot lane: total length and CRC-32 of all chunks. */
  SnapshotEnd: 6,
  /** Snapshot lane, receiver → sender: stored and delivered, or not. */
  SnapshotAck: 7,
  /**
   * Message lanes, listener → dialer, empty: "frames are arriving". TCP alone cannot tell a dialer
   * that its writes are stuck (unacknowledged data is retransmitted with backoff for minutes); these
   * let it notice and redial.
   */
  LaneAck: 8,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const FRAME_KIND_MAX = FrameKind.LaneAck;
/** First allocation for a frame's payload; see FrameDecoder.startPayload. */
const PAYLOAD_INITIAL_BYTES = 64 * 1024;

export interface Frame {
  readonly kind: FrameKind;
  readonly payload: Uint8Array;
}

/** Bytes a frame with this payload occupies on the wire. */
export function frameBytes(payloadBytes: number): number {
  return FRAME_HEADER_BYTES + payloadBytes;
}

/** Writes the 6-byte header for a payload of `payloadBytes` at `offset` of `target`. */
export function writeFrameHeader(target: Uint8Array, offset: number, kind: FrameKind, payloadBytes: number): void {
  const view = new DataView(target.buffer, target.byteOffset + offset, FRAME_HEADER_BYTES);
  view.setUint32(0, payloadBytes + 2);
  view.setUint8(4, FRAME_VERSION);
  view.setUint8(5, kind);
}

export function encodeFrame(kind: FrameKind, payload: Uint8Array, frameBytesMax: number): Uint8Array {
  const total = frameBytes(payload.byteLength);
  if (total > frameBytesMax) {
    throw new FrameError(FrameErrorReason.Oversized, `frame of ${total} bytes exceeds ${frameBytesMax}`);
  }
  const out = new Uint8Array(total);
  writeFrameHeader(out, 0, kind, payload.byteLength);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into frames. The header is checked as soon as its bytes arrive, so an oversized
 * length or a bad version is refused before anything is buffered for it. Each payload is copied into
 * its own array: callers may keep views into it (decoded entries do) without pinning socket buffers.
 * After a FrameError the decoder is poisoned: the connection must be closed.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private payload: Uint8Array | null = null;
  private payloadBytes = 0;
  private payloadFill = 0;
  private kind: FrameKind = FrameKind.Hello;
  private failed: FrameError | null = null;

  constructor(private readonly frameBytesMax: number) {}

  /** True when no partial frame is buffered (a clean place for the stream to end). */
  get idle(): boolean {
    return this.headerFill === 0 && this.payload === null;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.failed) throw this.failed;
    const frames: Frame[] = [];
    let offset = 0;
    try {
      while (offset < chunk.byteLength) {
        offset = this.payload === null ? this.fillHeader(chunk, offset, frames) : this.fillPayload(chunk, offset, frames);
      }
    } catch (e) {
      if (e instanceof FrameError) this.failed = e;
      throw e;
    }
    return frames;
  }

  private fillHeader(chunk: Uint8Array, offset: number, frames: Frame[]): number {
    const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.byteLength - offset);
    this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
    const before = this.headerFill;
    this.headerFill += take;
    this.checkHeader(before);
    if (this.headerFill === FRAME_HEADER_BYTES) {
      this.startPayload();
      // An empty payload is complete now, even when the header ends the chunk.
      if (this.payloadBytes === 0) this.completeFrame(frames);
    }
    return offset + take;
  }

  /** Checks each header field the moment it is complete. */
  private checkHeader(before: number): void {
    const view = new DataView(this.header.buffer);
    if (before < 4 && this.headerFill >= 4) {
      const length = view.getUint32(0);
      if (length < 2) throw new FrameError(FrameErrorReason.BadLength, `frame length ${length} < 2`);
      if (length + FRAME_LENGTH_BYTES > this.frameBytesMax) {
        throw new FrameError(FrameErrorReason.Oversized, `frame of ${length + FRAME_LENGTH_BYTES} bytes exceeds ${this.frameBytesMax}`);
      }
    }
    if (before < 5 && this.headerFill >= 5) {
      const version = view.getUint8(4);
      if (version !== FRAME_VERSION) throw new FrameError(FrameErrorReason.BadVersion, `version ${version}`);
    }
    if (before < 6 && this.headerFill >= 6) {
      const kind = view.getUint8(5);
      if (kind < 1 || kind > FRAME_KIND_MAX) throw new FrameError(FrameErrorReason.BadKind, `kind ${kind}`);
    }
  }

  /**
   * The buffer starts small and doubles as bytes arrive, so memory follows what a peer actually sent,
   * not what its length prefix claims: a header promising 8 MiB and then silence costs 64 KiB.
   */
  private startPayload(): void {
    const view = new DataView(this.header.buffer);
    this.kind = view.getUint8(5) as FrameKind;
    this.payloadBytes = view.getUint32(0) - 2;
    this.payload = new Uint8Array(Math.min(this.payloadBytes, PAYLOAD_INITIAL_BYTES));
    this.payloadFill = 0;
  }

  private fillPayload(chunk: Uint8Array, offset: number, frames: Frame[]): number {
    const take = Math.min(this.payloadBytes - this.payloadFill, chunk.byteLength - offset);
    let payload = this.payload as Uint8Array;
    if (this.payloadFill + take > payload.byteLength) {
      const grown = new Uint8Array(Math.min(this.payloadBytes, Math.max(payload.byteLength * 2, this.payloadFill + take)));
      grown.set(payload.subarray(0, this.payloadFill));
      payload = grown;
      this.payload = grown;
    }
    payload.set(chunk.subarray(offset, offset + take), this.payloadFill);
    this.payloadFill += take;
    // Growth is capped at payloadBytes, so a complete payload fills its buffer exactly.
    if (this.payloadFill === this.payloadBytes) this.completeFrame(frames);
    return offset + take;
  }

  private completeFrame(frames: Frame[]): void {
    frames.push({ kind: this.kind, payload: this.payload as Uint8Array });
    this.payload = null;
    this.headerFill = 0;
  }
}
