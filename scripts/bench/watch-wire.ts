/**
 * A minimal protobuf reader and writer for the watchers case, which receives W × R events/s in one
 * process: decoding each WatchResponse into objects (proto-loader) cost more client CPU than the
 * servers spent, so the benchmark read its own client. This walks only the fields it needs —
 * created, canceled, and the first 8 bytes (the writer's send time) of each event's value — and
 * skips the rest without allocating. Field numbers are etcd's (etcdserverpb.WatchResponse,
 * mvccpb.Event, mvccpb.KeyValue).
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const RESPONSE_CREATED = 3;
const RESPONSE_CANCELED = 4;
const RESPONSE_EVENTS = 11;
const EVENT_KV = 2;
const KV_VALUE = 5;

export interface WatchFrame {
  created: boolean;
  canceled: boolean;
  /** The float64 at the start of each event's value (NaN for a value shorter than 8 bytes). */
  sendTimesMs: number[];
}

/** Reads a varint at `pos`; returns value and the position after it (values up to 2^53 are exact). */
function varint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('watch-wire: truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
}

/** Calls `onField(field, start, end)` for each length-delimited field in buf[from, to); varints as (field, value, -1). */
function fields(buf: Buffer, from: number, to: number, onField: (field: number, a: number, b: number) => void): void {
  let pos = from;
  while (pos < to) {
    const [tag, p1] = varint(buf, pos);
    const field = Math.floor(tag / 8);
    switch (tag % 8) {
      case WIRE_VARINT: {
        const [v, p2] = varint(buf, p1);
        onField(field, v, -1);
        pos = p2;
        break;
      }
      case WIRE_BYTES: {
        const [len, p2] = varint(buf, p1);
        if (p2 + len > to) throw new Error('watch-wire: field runs past its message');
        onField(field, p2, p2 + len);
        pos = p2 + len;
        break;
      }
      case WIRE_FIXED64: pos = p1 + 8; break;
      case WIRE_FIXED32: pos = p1 + 4; break;
      default: throw new Error(`watch-wire: unsupported wire type ${tag % 8}`);
    }
  }
}

export function readWatchResponse(buf: Buffer): WatchFrame {
  const frame: WatchFrame = { created: false, canceled: false, sendTimesMs: [] };
  fields(buf, 0, buf.length, (field, a, b) => {
    if (field === RESPONSE_CREATED && b === -1) frame.created = a !== 0;
    else if (field === RESPONSE_CANCELED && b === -1) frame.canceled = a !== 0;
    else if (field === RESPONSE_EVENTS && b !== -1) {
      let sent = Number.NaN;
      fields(buf, a, b, (ef, ea, eb) => {
        if (ef !== EVENT_KV || eb === -1) return;
        fields(buf, ea, eb, (kf, ka, kb) => {
          if (kf === KV_VALUE && kb !== -1 && kb - ka >= 8) sent = buf.readDoubleLE(ka);
        });
      });
      frame.sendTimesMs.push(sent);
    }
  });
  return frame;
}

function lengthDelimited(field: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([(field << 3) | WIRE_BYTES, ...len]), body]);
}

/** A WatchRequest whose create_request watches [key, rangeEnd). */
export function watchCreateRequest(key: Buffer, rangeEnd: Buffer): Buffer {
  return lengthDelimited(1, Buffer.concat([lengthDelimited(1, key), lengthDelimited(2, rangeEnd)]));
}
