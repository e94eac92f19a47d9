import type { ConfState, Entry, EntryType, Message, MessageType, NodeId, Snapshot } from '../../raft/types.js';
import { FrameError, FrameErrorReason } from './errors.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from './frame.js';
import { ByteReader, ByteWriter, isU64Safe } from './wire.js';

/*
 * Binary layout of a raft Message (all integers big-endian, u64 holds a safe JS integer):
 *   u8 type, u64 from, u64 to, u64 term, u64 logTerm, u64 index, u64 commit, u8 reject, u64 rejectHint,
 *   u32 contextLen + context,
 *   u32 entryCount + entries (u64 term, u64 index, u8 type, u32 dataLen + data — data copied as-is),
 *   u8 hasSnapshot [+ u64 index, u64 term, u32 voterCount + u64 ids, u32 learnerCount + u64 ids,
 *                     u32 dataLen + data].
 * The type values are those of src/raft/types.ts, which is the wire contract: they must never change.
 */

const MESSAGE_FIXED_BYTES = 1 + 6 * 8 + 1 + 8 + 4 + 4 + 1;
const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;
const SNAPSHOT_FIXED_BYTES = 8 + 8 + 4 + 4 + 4;
const NODE_ID_BYTES = 8;

/** Message types that travel between nodes; the local ones (Hup, Beat, Prop, ...) never do. */
const NETWORK_TYPE_MIN = 10;
const NETWORK_TYPE_MAX = 22;
const ENTRY_TYPE_MAX = 1;

export function isNetworkMessageType(type: number): type is MessageType {
  return Number.isInteger(type) && type >= NETWORK_TYPE_MIN && type <= NETWORK_TYPE_MAX;
}

/** Exact encoded size of a message payload (without the frame header). */
export function messageEncodedBytes(m: Message): number {
  let n = MESSAGE_FIXED_BYTES + m.context.byteLength;
  for (const e of m.entries) n += ENTRY_FIXED_BYTES + e.data.byteLength;
  if (m.snapshot !== null) {
    const conf = m.snapshot.meta.conf;
    n += SNAPSHOT_FIXED_BYTES + NODE_ID_BYTES * (conf.voters.length + conf.learners.length) + m.snapshot.data.byteLength;
  }
  return n;
}

/** The message payload alone. */
export function encodeMessage(m: Message): Uint8Array {
  validateForEncode(m);
  const w = new ByteWriter(messageEncodedBytes(m));
  writeMessage(w, m);
  return w.bytes;
}

/** A complete Message frame (header + payload) in one allocation. */
export function encodeMessageFrame(m: Message, frameBytesMax: number): Uint8Array {
  validateForEncode(m);
  const payloadBytes = messageEncodedBytes(m);
  if (FRAME_HEADER_BYTES + payloadBytes > frameBytesMax) {
    throw new FrameError(FrameErrorReason.Oversized, `message of ${payloadBytes} bytes exceeds the frame limit ${frameBytesMax}`);
  }
  const w = new ByteWriter(FRAME_HEADER_BYTES + payloadBytes);
  writeFrameHeader(w.bytes, 0, FrameKind.Message, payloadBytes);
  w.skip(FRAME_HEADER_BYTES);
  writeMessage(w, m);
  return w.bytes;
}

function writeMessage(w: ByteWriter, m: Message): void {
  w.u8(m.type);
  w.u64(m.from);
  w.u64(m.to);
  w.u64(m.term);
  w.u64(m.logTerm);
  w.u64(m.index);
  w.u64(m.commit);
  w.u8(m.reject ? 1 : 0);
  w.u64(m.rejectHint);
  w.bytesField(m.context);
  w.u32(m.entries.length);
  for (const e of m.entries) {
    w.u64(e.term);
    w.u64(e.index);
    w.u8(e.type);
    w.bytesField(e.data);
  }
  w.u8(m.snapshot === null ? 0 : 1);
  if (m.snapshot !== null) writeSnapshot(w, m.snapshot);
}

function writeSnapshot(w: ByteWriter, s: Snapshot): void {
  w.u64(s.meta.index);
  w.u64(s.meta.term);
  writeIds(w, s.meta.conf.voters);
  writeIds(w, s.meta.conf.learners);
  w.bytesField(s.data);
}

function writeIds(w: ByteWriter, ids: readonly NodeId[]): void {
  w.u32(ids.length);
  for (const id of ids) w.u64(id);
}

function unencodable(what: string): FrameError {
  return new FrameError(FrameErrorReason.Unencodable, what);
}

/** Encoding trusts nothing either: a bad field would otherwise be silently truncated on the wire. */
function validateForEncode(m: Message): void {
  if (!isNetworkMessageType(m.type)) throw unencodable(`message type ${String(m.type)} is not a network message`);
  if (!isU64Safe(m.from) || m.from === 0 || !isU64Safe(m.to) || m.to === 0) throw unencodable(`bad from/to ${m.from}/${m.to}`);
  // Checked field by field, not through an array of pairs: this runs for every message sent.
  checkU64('term', m.term);
  checkU64('logTerm', m.logTerm);
  checkU64('index', m.index);
  checkU64('commit', m.commit);
  checkU64('rejectHint', m.rejectHint);
  for (const e of m.entries) {
    if (!isU64Safe(e.term) || !isU64Safe(e.index)) throw unencodable(`entry term/index ${e.term}/${e.index}`);
    if (e.type !== 0 && e.type !== 1) throw unencodable(`entry type ${String(e.type)}`);
  }
  if (m.snapshot !== null) {
    const { meta } = m.snapshot;
    if (!isU64Safe(meta.index) || !isU64Safe(meta.term)) throw unencodable(`snapshot index/term ${meta.index}/${meta.term}`);
    for (const ids of [meta.conf.voters, meta.conf.learners]) {
      for (const id of ids) if (!isU64Safe(id) || id === 0) throw unencodable(`conf node id ${id}`);
    }
  }
}

function checkU64(name: string, v: number): void {
  if (!isU64Safe(v)) throw unencodable(`${name} ${v} is not a non-negative safe integer`);
}

/**
 * Decodes a Message payload. Every length, count and enum is checked; byte fields are views into
 * `payload`. Throws FrameError on anything malformed, never a RangeError.
 */
export function decodeMessage(payload: Uint8Array): Message {
  const r = new ByteReader(payload);
  const type = r.u8('type');
  if (!isNetworkMessageType(type)) throw new FrameError(FrameErrorReason.BadEnum, `message type ${type}`);
  const from = nodeId(r, 'from');
  const to = nodeId(r, 'to');
  const term = r.u64('term');
  const logTerm = r.u64('logTerm');
  const index = r.u64('index');
  const commit = r.u64('commit');
  const reject = r.bool('reject');
  const rejectHint = r.u64('rejectHint');
  const context = r.bytesField('context');
  const entryCount = r.count('entries', ENTRY_FIXED_BYTES);
  const entries: Entry[] = [];
  for (let i = 0; i < entryCount; i++) entries.push(readEntry(r));
  const snapshot = r.bool('hasSnapshot') ? readSnapshot(r) : null;
  r.end('message');
  return { type, from, to, term, logTerm, index, entries, commit, reject, rejectHint, snapshot, context };
}

function nodeId(r: ByteReader, what: string): NodeId {
  const id = r.u64(what);
  if (id === 0) throw new FrameError(FrameErrorReason.BadValue, `${what} is node 0`);
  return id;
}

function readEntry(r: ByteReader): Entry {
  const term = r.u64('entry term');
  const index = r.u64('entry index');
  const type = r.u8('entry type');
  if (type > ENTRY_TYPE_MAX) throw new FrameError(FrameErrorReason.BadEnum, `entry type ${type}`);
  const data = r.bytesField('entry data');
  return { term, index, type: type as EntryType, data };
}

function readSnapshot(r: ByteReader): Snapshot {
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const conf: ConfState = { voters: readIds(r, 'voters'), learners: readIds(r, 'learners') };
  const data = r.bytesField('snapshot data');
  return { meta: { index, term, conf }, data };
}

function readIds(r: ByteReader, what: string): NodeId[] {
  const n = r.count(what, NODE_ID_BYTES);
  const ids: NodeId[] = [];
  for (let i = 0; i < n; i++) ids.push(nodeId(r, what));
  return ids;
}
