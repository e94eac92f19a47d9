/**
 * A node's identity on disk: `<data_dir>/<node_id>/node.json`, written atomically. Opening a data
 * directory that another node (or another cluster) wrote is refused with a typed error, so a copied
 * or mis-mounted directory can never make a node vote with someone else's log.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptionError, InvalidArgumentError } from '../common/errors.js';
import { throwIfAborted, writeFileAtomic } from './atomic-file.js';
import { ClusterIdMismatchError, NodeIdMismatchError, UnsupportedFormatError } from './errors.js';

export const NODE_META_FORMAT_VERSION = 1;
export const NODE_META_FILE = 'node.json';
/** node.json is tiny; refuse to parse anything larger. */
const NODE_META_BYTES_MAX = 64 * 1024;

export interface NodeMeta {
  readonly formatVersion: number;
  readonly nodeId: number;
  /** Set once the node belongs to a cluster (after bootstrap or join). */
  readonly clusterId?: string;
}

/** The layout of one node's data directory (DESIGN.md "Storage on disk"). */
export interface NodePaths {
  readonly root: string;
  /** classic-level: raft log, hard state, conf state (DiskStorage). */
  readonly raft: string;
  /** Snapshot files (FileSnapshotStore). */
  readonly snapshots: string;
  /** classic-level: the state machine's data. */
  readonly kv: string;
  /** Files built for one request and deleted after it (etcd-format snapshots); emptied at start. */
  readonly scratch: string;
  readonly nodeMeta: string;
}

export function nodePaths(dataDir: string, nodeId: number): NodePaths {
  checkNodeId(nodeId);
  const root = join(dataDir, String(nodeId));
  return { root, raft: join(root, 'raft'), snapshots: join(root, 'snapshots'), kv: join(root, 'kv'), scratch: join(root, 'scratch'), nodeMeta: join(root, NODE_META_FILE) };
}

/** node.json in `rootDir`, or null if there is none. Throws CorruptionError/UnsupportedFormatError. */
export async function readNodeMeta(rootDir: string, opts: { signal?: AbortSignal | undefined } = {}): Promise<NodeMeta | null> {
  const file = join(rootDir, NODE_META_FILE);
  throwIfAborted(opts.signal, `reading ${file}`);
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return null;
    throw err;
  }
  return parseNodeMeta(file, text);
}

/** Atomically replace node.json in `rootDir`. */
export async function writeNodeMeta(rootDir: string, meta: NodeMeta, opts: { signal?: AbortSignal | undefined } = {}): Promise<void> {
  checkNodeId(meta.nodeId);
  const body = { formatVersion: meta.formatVersion, nodeId: meta.nodeId, ...(meta.clusterId !== undefined ? { clusterId: meta.clusterId } : {}) };
  await writeFileAtomic(join(rootDir, NODE_META_FILE), `${JSON.stringify(body, null, 2)}\n`, opts);
}

/**
 * Claim `rootDir` for `nodeId`: create node.json if absent (`created: true`), otherwise check it.
 * Throws NodeIdMismatchError / ClusterIdMismatchError when it belongs to another node / cluster.
 * A stored node without a cluster id adopts the requested one.
 */
export async function openNodeMeta(
  rootDir: string,
  want: { nodeId: number; clusterId?: string | undefined },
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<{ meta: NodeMeta; created: boolean }> {
  checkNodeId(want.nodeId);
  await mkdir(rootDir, { recursive: true });
  const file = join(rootDir, NODE_META_FILE);
  const stored = await readNodeMeta(rootDir, opts);
  if (stored === null) {
    const meta: NodeMeta = { formatVersion: NODE_META_FORMAT_VERSION, nodeId: want.nodeId, ...clusterField(want.clusterId) };
    await writeNodeMeta(rootDir, meta, opts);
    return { meta, created: true };
  }
  if (stored.nodeId !== want.nodeId) throw new NodeIdMismatchError(file, stored.nodeId, want.nodeId);
  if (want.clusterId === undefined || stored.clusterId === want.clusterId) return { meta: stored, created: false };
  if (stored.clusterId !== undefined) throw new ClusterIdMismatchError(file, stored.clusterId, want.clusterId);
  const meta: NodeMeta = { ...stored, clusterId: want.clusterId };
  await writeNodeMeta(rootDir, meta, opts);
  return { meta, created: false };
}

function parseNodeMeta(file: string, text: string): NodeMeta {
  if (text.length > NODE_META_BYTES_MAX) throw new CorruptionError(`${file} is larger than ${NODE_META_BYTES_MAX} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CorruptionError(`${file} is not valid JSON`);
  }
  if (typeof v !== 'object' || v === null) throw new CorruptionError(`${file} is not a JSON object`);
  const o = v as Record<string, unknown>;
  if (o.formatVersion !== NODE_META_FORMAT_VERSION) throw new UnsupportedFormatError(file, o.formatVersion, NODE_META_FORMAT_VERSION);
  const { nodeId, clusterId } = o;
  if (typeof nodeId !== 'number' || !Number.isSafeInteger(nodeId) || nodeId <= 0) {
    throw new CorruptionError(`${file} has no valid nodeId`);
  }
  if (clusterId !== undefined && (typeof clusterId !== 'string' || clusterId === '')) {
    throw new CorruptionError(`${file} has an invalid clusterId`);
  }
  return { formatVersion: NODE_META_FORMAT_VERSION, nodeId, ...clusterField(clusterId) };
}

function clusterField(clusterId: string | undefined): { clusterId?: string } {
  return clusterId === undefined ? {} : { clusterId };
}

function checkNodeId(nodeId: number): void {
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) throw new InvalidArgumentError(`node id must be a positive integer, got ${nodeId}`);
}
