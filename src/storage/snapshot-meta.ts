/**
 * Names and the metadata sidecar of snapshot files.
 *
 * A snapshot `<id>` is two files: `<id>.snap` (the opaque state machine data) and `<id>.meta.json`
 * (this sidecar). The id is `snap-<index>-<term>` in 16 hex digits each, so names sort by index.
 * The sidecar is written after the data and is the commit mark: data without a sidecar is an
 * interrupted commit. The sidecar carries the data's size and CRC-32C and a CRC-32C of itself.
 */
import type { ConfState, SnapshotMeta } from '../raft/types.js';
import { crc32c } from './crc32c.js';

export const SNAPSHOT_FORMAT_VERSION = 1;
export const DATA_SUFFIX = '.snap';
export const META_SUFFIX = '.meta.json';

/** A committed snapshot whose data verified. */
export interface SnapshotInfo {
  /** `snap-<index hex16>-<term hex16>`. */
  readonly id: string;
  readonly meta: SnapshotMeta;
  readonly sizeBytes: number;
  /** CRC-32C of the data file. */
  readonly crc32c: number;
}

export function snapshotId(index: number, term: number): string {
  return `snap-${hex16(index)}-${hex16(term)}`;
}

/** The (index, term) an id names, or null when `id` is not a snapshot id. */
export function parseSnapshotId(id: string): { index: number; term: number } | null {
  const m = /^snap-([0-9a-f]{16})-([0-9a-f]{16})$/.exec(id);
  if (!m) return null;
  const index = parseInt(m[1]!, 16);
  const term = parseInt(m[2]!, 16);
  return Number.isSafeInteger(index) && Number.isSafeInteger(term) ? { index, term } : null;
}

export function encodeSidecar(info: SnapshotInfo): string {
  const { meta, sizeBytes, crc32c: dataCrc32c } = info;
  return `${JSON.stringify({
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    index: meta.index,
    term: meta.term,
    conf: { voters: meta.conf.voters, learners: meta.conf.learners },
    sizeBytes,
    dataCrc32c,
    metaCrc32c: sidecarCrc(meta, sizeBytes, dataCrc32c),
  })}\n`;
}

/** Parse and verify a sidecar read from the file for `id`. Returns the reason it is invalid instead. */
export function decodeSidecar(id: string, text: string): SnapshotInfo | { invalid: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { invalid: 'metadata is not valid JSON' };
  }
  if (typeof v !== 'object' || v === null) return { invalid: 'metadata is not an object' };
  const o = v as Record<string, unknown>;
  if (o.formatVersion !== SNAPSHOT_FORMAT_VERSION) return { invalid: `unknown format version ${String(o.formatVersion)}` };
  const conf = parseConf(o.conf);
  const { index, term, sizeBytes, dataCrc32c, metaCrc32c } = o;
  if (!isCount(index) || !isCount(term) || !isCount(sizeBytes) || !isU32(dataCrc32c) || !isU32(metaCrc32c) || !conf) {
    return { invalid: 'metadata fields are missing or malformed' };
  }
  const meta: SnapshotMeta = { index, term, conf };
  if (sidecarCrc(meta, sizeBytes, dataCrc32c) !== metaCrc32c) return { invalid: 'metadata checksum mismatch' };
  if (snapshotId(index, term) !== id) return { invalid: `metadata names index ${index} term ${term}, not ${id}` };
  return { id, meta, sizeBytes, crc32c: dataCrc32c };
}

function sidecarCrc(meta: SnapshotMeta, sizeBytes: number, dataCrc32c: number): number {
  const canonical = JSON.stringify([
    SNAPSHOT_FORMAT_VERSION,
    meta.index,
    meta.term,
    meta.conf.voters,
    meta.conf.learners,
    sizeBytes,
    dataCrc32c,
  ]);
  return crc32c(new TextEncoder().encode(canonical));
}

function parseConf(v: unknown): ConfState | null {
  if (typeof v !== 'object' || v === null) return null;
  const { voters, learners } = v as Record<string, unknown>;
  if (!Array.isArray(voters) || !Array.isArray(learners)) return null;
  if (!voters.every(isCount) || !learners.every(isCount)) return null;
  return { voters: voters, learners: learners };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isU32(v: unknown): v is number {
  return isCount(v) && v <= 0xffff_ffff;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}
