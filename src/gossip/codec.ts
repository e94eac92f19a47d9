import { ByteReader, ByteWriter, WireError } from './bytes.js';
import type { MemberState } from './types.js';

/**
 * Gossip wire format, version 1. A packet is [version u8][message]; a message is [type u8][body].
 * A compound message packs several into one datagram: [7][count u8][len u16 x count][messages]
 * (never nested). A push/pull stream payload is [version u8][6][join u8][count u32][states].
 * Integers are big-endian; names and addresses are u8-length UTF-8; metadata is u16-length bytes.
 */
export const WIRE_VERSION = 1;

export const MsgType = {
  Ping: 0, IndirectPing: 1, Ack: 2, Suspect: 3, Alive: 4, Dead: 5, PushPull: 6, Compound: 7, Nack: 11,
} as const;

export type Message =
  | { readonly type: 'ping'; readonly seq: number; readonly target: string }
  | { readonly type: 'indirectPing'; readonly seq: number; readonly target: string; readonly targetAddr: string; readonly nack: boolean }
  | { readonly type: 'ack'; readonly seq: number }
  | { readonly type: 'nack'; readonly seq: number }
  | { readonly type: 'suspect'; readonly incarnation: number; readonly node: string; readonly from: string }
  | { readonly type: 'alive'; readonly incarnation: number; readonly node: string; readonly addr: string; readonly meta: Uint8Array }
  | { readonly type: 'dead'; readonly incarnation: number; readonly node: string; readonly from: string };

export interface PushPullState {
  readonly name: string;
  readonly addr: string;
  readonly meta: Uint8Array;
  readonly incarnation: number;
  readonly state: MemberState;
}

export interface PushPullPayload {
  readonly join: boolean;
  readonly states: readonly PushPullState[];
}

/** Encodes one message without the version byte (the unit the broadcast queue stores). */
export function encodeMessage(m: Message): Uint8Array {
  const w = new ByteWriter(64);
  switch (m.type) {
    case 'ping': return w.u8(MsgType.Ping).u32(m.seq).str8(m.target).finish();
    case 'indirectPing':
      return w.u8(MsgType.IndirectPing).u32(m.seq).str8(m.target).str8(m.targetAddr).u8(m.nack ? 1 : 0).finish();
    case 'ack': return w.u8(MsgType.Ack).u32(m.seq).finish();
    case 'nack': return w.u8(MsgType.Nack).u32(m.seq).finish();
    case 'suspect': return w.u8(MsgType.Suspect).u32(m.incarnation).str8(m.node).str8(m.from).finish();
    case 'dead': return w.u8(MsgType.Dead).u32(m.incarnation).str8(m.node).str8(m.from).finish();
    case 'alive':
      return w.u8(MsgType.Alive).u32(m.incarnation).str8(m.node).str8(m.addr).bytes16(m.meta).finish();
  }
}

function decodeMessage(r: ByteReader): Message {
  const type = r.u8();
  switch (type) {
    case MsgType.Ping: return { type: 'ping', seq: r.u32(), target: r.str8() };
    case MsgType.IndirectPing: {
      const seq = r.u32();
      const target = r.str8();
      const targetAddr = r.str8();
      const flag = r.u8();
      if (flag > 1) throw new WireError('bad nack flag');
      return { type: 'indirectPing', seq, target, targetAddr, nack: flag === 1 };
    }
    case MsgType.Ack: return { type: 'ack', seq: r.u32() };
    case MsgType.Nack: return { type: 'nack', seq: r.u32() };
    case MsgType.Suspect: return { type: 'suspect', incarnation: r.u32(), node: r.str8(), from: r.str8() };
    case MsgType.Dead: return { type: 'dead', incarnation: r.u32(), node: r.str8(), from: r.str8() };
    case MsgType.Alive:
      return { type: 'alive', incarnation: r.u32(), node: r.str8(), addr: r.str8(), meta: r.bytes16() };
    default: throw new WireError(`unknown message type ${type}`);
  }
}

/** Bytes a compound packet spends besides its parts: version, type, count; plus 2 per part. */
export const COMPOUND_HEADER_BYTES = 3;
export const COMPOUND_PART_OVERHEAD_BYTES = 2;
const COMPOUND_PARTS_MAX = 255;

/** Frames already-encoded messages as one packet: plain when there is one, compound otherwise. */
export function encodePacket(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) throw new WireError('empty packet');
  const first = parts[0];
  if (parts.length === 1 && first !== undefined) return new ByteWriter(first.length + 1).u8(WIRE_VERSION).raw(first).finish();
  if (parts.length > COMPOUND_PARTS_MAX) throw new WireError('too many parts');
  const w = new ByteWriter(512).u8(WIRE_VERSION).u8(MsgType.Compound).u8(parts.length);
  for (const p of parts) w.u16(p.length);
  for (const p of parts) w.raw(p);
  return w.finish();
}

/** Decodes a packet; throws WireError on anything malformed (the core counts and drops it). */
export function decodePacket(bytes: Uint8Array): Message[] {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== WIRE_VERSION) throw new WireError(`unsupported wire version ${version}`);
  if (bytes.length >= 2 && bytes[1] === MsgType.Compound) {
    r.u8();
    const count = r.u8();
    if (count === 0) throw new WireError('empty compound');
    const lengths: number[] = [];
    for (let i = 0; i < count; i++) lengths.push(r.u16());
    const out: Message[] = [];
    for (const len of lengths) {
      const part = new ByteReader(r.raw(len));
      out.push(decodeMessage(part));
      part.end();
    }
    r.end();
    return out;
  }
  const m = decodeMessage(r);
  r.end();
  return [m];
}

export function encodePushPull(p: PushPullPayload): Uint8Array {
  const w = new ByteWriter(256 + p.states.length * 64)
    .u8(WIRE_VERSION).u8(MsgType.PushPull).u8(p.join ? 1 : 0).u32(p.states.length);
  for (const s of p.states) w.str8(s.name).str8(s.addr).bytes16(s.meta).u32(s.incarnation).u8(s.state);
  return w.finish();
}

export function decodePushPull(bytes: Uint8Array, membersMax: number): PushPullPayload {
  const r = new ByteReader(bytes);
  if (r.u8() !== WIRE_VERSION) throw new WireError('unsupported wire version');
  if (r.u8() !== MsgType.PushPull) throw new WireError('not a push/pull payload');
  const joinFlag = r.u8();
  if (joinFlag > 1) throw new WireError('bad join flag');
  const count = r.u32();
  if (count > membersMax) throw new WireError(`push/pull lists ${count} members, max ${membersMax}`);
  const states: PushPullState[] = [];
  for (let i = 0; i < count; i++) {
    const name = r.str8();
    const addr = r.str8();
    const meta = r.bytes16();
    const incarnation = r.u32();
    const state = r.u8();
    if (state > 3) throw new WireError(`bad member state ${state}`);
    states.push({ name, addr, meta, incarnation, state: state as MemberState });
  }
  r.end();
  return { join: joinFlag === 1, states };
}
