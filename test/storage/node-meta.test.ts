import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError } from '../../src/common/errors.js';
import { ClusterIdMismatchError, NodeIdMismatchError, UnsupportedFormatError } from '../../src/storage/errors.js';
import { nodePaths, openNodeMeta, readNodeMeta, writeNodeMeta } from '../../src/storage/node-meta.js';
import { useTempDirs } from './helpers.js';

describe('node.json', () => {
  const tempDir = useTempDirs();

  it('lays out the data directory per node', () => {
    expect(nodePaths('/data', 3)).toEqual({
      root: '/data/3',
      raft: '/data/3/raft',
      snapshots: '/data/3/snapshots',
      kv: '/data/3/kv',
      scratch: '/data/3/scratch',
      nodeMeta: '/data/3/node.json',
    });
    expect(() => nodePaths('/data', 0)).toThrow(InvalidArgumentError);
  });

  it('creates node.json on first open, then finds it again', async () => {
    const { root } = nodePaths(await tempDir(), 7);
    expect(await readNodeMeta(root)).toBeNull();
    expect(await openNodeMeta(root, { nodeId: 7 })).toEqual({ meta: { formatVersion: 1, nodeId: 7 }, created: true });
    expect(await openNodeMeta(root, { nodeId: 7 })).toEqual({ meta: { formatVersion: 1, nodeId: 7 }, created: false });
    expect(JSON.parse(await readFile(join(root, 'node.json'), 'utf8'))).toEqual({ formatVersion: 1, nodeId: 7 });
    expect(await readdir(root)).toEqual(['node.json']); // no temp file left behind
  });

  it('refuses a data directory that belongs to another node', async () => {
    const { root } = nodePaths(await tempDir(), 1);
    await openNodeMeta(root, { nodeId: 1 });
    const err = await openNodeMeta(root, { nodeId: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeIdMismatchError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', storedNodeId: 1, requestedNodeId: 2 });
    expect((err as Error).message).toContain(join(root, 'node.json'));
  });

  it('adopts a cluster id once, then refuses another', async () => {
    const { root } = nodePaths(await tempDir(), 4);
    await openNodeMeta(root, { nodeId: 4 });
    expect((await openNodeMeta(root, { nodeId: 4, clusterId: 'c-1' })).meta).toEqual({ formatVersion: 1, nodeId: 4, clusterId: 'c-1' });
    expect((await openNodeMeta(root, { nodeId: 4 })).meta.clusterId).toBe('c-1');
    await expect(openNodeMeta(root, { nodeId: 4, clusterId: 'c-2' })).rejects.toThrow(ClusterIdMismatchError);
  });

  it('rejects damaged or foreign files with typed errors', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'node.json'), '{"formatVersion":1,"nodeId":');
    await expect(openNodeMeta(root, { nodeId: 1 })).rejects.toThrow(CorruptionError);
    await writeFile(join(root, 'node.json'), '{"formatVersion":99,"nodeId":1}');
    await expect(openNodeMeta(root, { nodeId: 1 })).rejects.toThrow(UnsupportedFormatError);
    await writeFile(join(root, 'node.json'), '{"formatVersion":1,"nodeId":-3}');
    await expect(readNodeMeta(root)).rejects.toThrow(CorruptionError);
    await writeNodeMeta(root, { formatVersion: 1, nodeId: 1, clusterId: 'x' });
    expect(await readNodeMeta(root)).toEqual({ formatVersion: 1, nodeId: 1, clusterId: 'x' });
  });
});
