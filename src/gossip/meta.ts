import { ByteReader, ByteWriter, WireError } from './bytes.js';
import type { MemberMeta } from './types.js';

/** Format version of the metadata record; bump on incompatible change, readers reject unknown ones. */
const META_FORMAT_VERSION = 1;
const TAGS_MAX = 32;

export class MetaTooLargeError extends WireError {}

export function encodeMeta(meta: MemberMeta, metaBytesMax: number): Uint8Array {
  const tags = Object.entries(meta.tags);
  if (tags.length > TAGS_MAX) throw new MetaTooLargeError(`metadata has ${tags.length} tags, max ${TAGS_MAX}`);
  const w = new ByteWriter(128)
    .u8(META_FORMAT_VERSION)
    .str8(meta.nodeId)
    .str8(meta.raftAddr)
    .str8(meta.grpcAddr)
    .str8(meta.version)
    .u8(tags.length);
  for (const [k, v] of tags) w.str8(k).str8(v);
  const out = w.finish();
  if (out.length > metaBytesMax) {
    throw new MetaTooLargeError(`metadata is ${out.length} bytes, max ${metaBytesMax}`);
  }
  return out;
}

/** Decodes a record; returns null for empty or unreadable bytes (a peer's problem, not ours). */
export function decodeMeta(bytes: Uint8Array): MemberMeta | null {
  if (bytes.length === 0) return null;
  try {
    const r = new ByteReader(bytes);
    if (r.u8() !== META_FORMAT_VERSION) return null;
    const nodeId = r.str8();
    const raftAddr = r.str8();
    const grpcAddr = r.str8();
    const version = r.str8();
    const count = r.u8();
    if (count > TAGS_MAX) return null;
    const tags: Record<string, string> = {};
    for (let i = 0; i < count; i++) {
      const k = r.str8();
      tags[k] = r.str8();
    }
    r.end();
    return { nodeId, raftAddr, grpcAddr, version, tags };
  } catch (e) {
    if (e instanceof WireError) return null;
    throw e;
  }
}
