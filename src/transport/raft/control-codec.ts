import type { NodeId } from '../../raft/types.js';
import { FrameError, FrameErrorReason } from './errors.js';
import { ByteReader, ByteWriter } from './wire.js';

/** Which stream a connection carries. Each peer gets one connection per lane. */
export const Lane = {
  /** App messages: may be large, pipelined in order. */
  Bulk: 1,
  /** Everything small (heartbeats, votes, responses): never stuck behind a large append. */
  Priority: 2,
  /** One snapshot stream, then the connection closes. */
  Snapshot: 3,
} as const;
export type Lane = (typeof Lane)[keyof typeof Lane];

export function laneName(lane: Lane): string {
  return lane === Lane.Bulk ? 'bulk' : lane === Lane.Priority ? 'priority' : 'snapshot';
}

export interface Hello {
  readonly lane: Lane;
  readonly from: NodeId;
  /** The node the dialer meant to reach: a listener with another id refuses (stale address). */
  readonly to: NodeId;
  readonly clusterId: string;
}

export interface HelloAck {
  readonly nodeId: NodeId;
  readonly clusterId: string;
}

export interface SnapshotEnd {
  readonly totalBytes: number;
  readonly crc32: number;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function encodeHello(h: Hello): Uint8Array {
  const cluster = utf8.encode(h.clusterId);
  const w = new ByteWriter(1 + 8 + 8 + 2 + cluster.byteLength);
  w.u8(h.lane);
  w.u64(h.from);
  w.u64(h.to);
  w.u16(cluster.byteLength);
  w.raw(cluster);
  return w.bytes;
}

export function decodeHello(payload: Uint8Array, clusterIdBytesMax: number): Hello {
  const r = new ByteReader(payload);
  const lane = r.u8('lane');
  if (lane < Lane.Bulk || lane > Lane.Snapshot) throw new FrameError(FrameErrorReason.BadEnum, `lane ${lane}`);
  const from = r.u64('hello from');
  const to = r.u64('hello to');
  if (from === 0 || to === 0) throw new FrameError(FrameErrorReason.BadValue, 'hello names node 0');
  const clusterId = readClusterId(r, clusterIdBytesMax);
  r.end('hello');
  return { lane: lane as Lane, from, to, clusterId };
}

export function encodeHelloAck(a: HelloAck): Uint8Array {
  const cluster = utf8.encode(a.clusterId);
  const w = new ByteWriter(8 + 2 + cluster.byteLength);
  w.u64(a.nodeId);
  w.u16(cluster.byteLength);
  w.raw(cluster);
  return w.bytes;
}

export function decodeHelloAck(payload: Uint8Array, clusterIdBytesMax: number): HelloAck {
  const r = new ByteReader(payload);
  const nodeId = r.u64('ack node id');
  const clusterId = readClusterId(r, clusterIdBytesMax);
  r.end('hello ack');
  return { nodeId, clusterId };
}

function readClusterId(r: ByteReader, clusterIdBytesMax: number): string {
  const n = r.u16('cluster id length');
  if (n > clusterIdBytesMax) throw new FrameError(FrameErrorReason.BadLength, `cluster id of ${n} bytes`);
  try {
    return utf8Strict.decode(r.raw(n, 'cluster id'));
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError(FrameErrorReason.BadValue, 'cluster id is not UTF-8');
  }
}

export function encodeSnapshotEnd(end: SnapshotEnd): Uint8Array {
  const w = new ByteWriter(8 + 4);
  w.u64(end.totalBytes);
  w.u32(end.crc32);
  return w.bytes;
}

export function decodeSnapshotEnd(payload: Uint8Array): SnapshotEnd {
  const r = new ByteReader(payload);
  const totalBytes = r.u64('snapshot total bytes');
  const crc32 = r.u32('snapshot crc32');
  r.end('snapshot end');
  return { totalBytes, crc32 };
}

export function encodeSnapshotAck(ok: boolean): Uint8Array {
  return Uint8Array.of(ok ? 1 : 0);
}

export function decodeSnapshotAck(payload: Uint8Array): boolean {
  const r = new ByteReader(payload);
  const ok = r.bool('snapshot ack');
  r.end('snapshot ack');
  return ok;
}

export function utf8Bytes(s: string): number {
  return utf8.encode(s).byteLength;
}
