import { FrameError, FrameErrorReason } from './errors.js';

const TWO_POW_32 = 0x1_0000_0000;
/** High word of Number.MAX_SAFE_INTEGER: a u64 above it cannot be a JS number exactly. */
const SAFE_HIGH_WORD_MAX = 0x1f_ffff;

/**
 * Writes big-endian fields into a buffer sized in advance by the caller (the codec computes exact
 * sizes, so encoding is one allocation and one copy of each payload). The buffer comes from Node's
 * small-buffer pool (`Buffer.allocUnsafe`): a fresh off-heap `Uint8Array` per message was the largest
 * single cost of encoding. Unsafe is safe here because exact sizing means every byte is written.
 */
export class ByteWriter {
  /** A plain Uint8Array view (so `slice()` copies, as callers expect), over `buf`'s memory. */
  readonly bytes: Uint8Array;
  private readonly buf: Buffer;
  private offset = 0;

  constructor(sizeBytes: number) {
    this.buf = Buffer.allocUnsafe(sizeBytes);
    this.bytes = new Uint8Array(this.buf.buffer, this.buf.byteOffset, sizeBytes);
  }

  get position(): number {
    return this.offset;
  }

  /** Leaves bytes already written in place (a frame header) untouched. */
  skip(n: number): void {
    this.offset += n;
  }

  u8(value: number): void {
    this.offset = this.buf.writeUInt8(value, this.offset);
  }

  u16(value: number): void {
    this.offset = this.buf.writeUInt16BE(value, this.offset);
  }

  u32(value: number): void {
    this.offset = this.buf.writeUInt32BE(value, this.offset);
  }

  /** A non-negative safe integer as u64. */
  u64(value: number): void {
    this.buf.writeUInt32BE(Math.floor(value / TWO_POW_32), this.offset);
    this.offset = this.buf.writeUInt32BE(value >>> 0, this.offset + 4);
  }

  raw(data: Uint8Array): void {
    this.bytes.set(data, this.offset);
    this.offset += data.byteLength;
  }

  /** u32 length, then the bytes as they are. */
  bytesField(data: Uint8Array): void {
    this.u32(data.byteLength);
    this.raw(data);
  }
}

/**
 * Reads big-endian fields with a bounds check before every read, so hostile input yields a FrameError
 * and never a RangeError. Byte fields are views into the input (no copy): the caller owns the input.
 */
export class ByteReader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) {
      throw new FrameError(FrameErrorReason.Truncated, `${what}: need ${n} bytes, have ${this.remaining}`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.offset);
    this.offset += 1;
    return v;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u64(what: string): number {
    this.need(8, what);
    const hi = this.view.getUint32(this.offset);
    const lo = this.view.getUint32(this.offset + 4);
    if (hi > SAFE_HIGH_WORD_MAX) {
      throw new FrameError(FrameErrorReason.BadValue, `${what}: u64 beyond the safe integer range`);
    }
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }

  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new FrameError(FrameErrorReason.BadEnum, `${what}: boolean byte ${v}`);
    return v === 1;
  }

  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.offset, n);
    this.offset += n;
    return out;
  }

  /** u32 length, then that many bytes (a view). */
  bytesField(what: string): Uint8Array {
    const n = this.u32(`${what} length`);
    return this.raw(n, what);
  }

  /**
   * A u32 element count, checked against the bytes left so a forged count cannot make us allocate
   * or loop far beyond the input.
   */
  count(what: string, elementBytesMin: number): number {
    const n = this.u32(`${what} count`);
    if (n * elementBytesMin > this.remaining) {
      throw new FrameError(FrameErrorReason.BadCount, `${what}: count ${n} exceeds the ${this.remaining} bytes left`);
    }
    return n;
  }

  end(what: string): void {
    if (this.remaining !== 0) {
      throw new FrameError(FrameErrorReason.TrailingBytes, `${what}: ${this.remaining} unread bytes`);
    }
  }
}

export function isU64Safe(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
