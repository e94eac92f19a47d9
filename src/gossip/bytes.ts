/**
 * Minimal binary reader/writer for the gossip wire format: big-endian integers, u8/u16-length
 * prefixed strings and byte arrays. The reader throws WireError on any truncation or bad value; the
 * core catches it at the packet boundary and counts the packet as malformed.
 */
export class WireError extends Error {
  override readonly name = 'WireError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.len, v >>> 0);
    this.len += 4;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** Strings of at most 255 UTF-8 bytes (names, addresses). */
  str8(s: string): this {
    const b = utf8(s);
    if (b.length > 255) throw new WireError(`string of ${b.length} bytes exceeds 255`);
    return this.u8(b.length).raw(b);
  }

  bytes16(b: Uint8Array): this {
    if (b.length > 0xffff) throw new WireError(`byte field of ${b.length} bytes exceeds 65535`);
    return this.u16(b.length).raw(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new WireError('truncated');
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str8(): string {
    const n = this.u8();
    try {
      return decoder.decode(this.raw(n));
    } catch (e) {
      if (e instanceof WireError) throw e;
      throw new WireError('invalid utf-8');
    }
  }

  bytes16(): Uint8Array {
    return this.raw(this.u16()).slice();
  }

  end(): void {
    if (this.remaining !== 0) throw new WireError(`${this.remaining} trailing bytes`);
  }
}
