/**
 * Auto-compaction (etcd's --auto-compaction-mode/--auto-compaction-retention): the flags, the
 * decision, and a real node whose leader proposes the compactions through raft.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/flags.js';
import { readServeConfig } from '../../src/cli/serve.js';
import { parseRetentionMs } from '../../src/cli/compaction-flags.js';
import { KVClient, PutRequest, type PutResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { checkIntervalMs, compactionTarget, type AutoCompactionOptions } from '../../src/node/auto-compactor.js';
import { startServer, type ServerHandle } from '../../src/node/server.js';
import { waitUntil } from '../crash/procs.js';

const base = ['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', '--raft_data_dir=/tmp/x'];

describe('auto-compaction flags', () => {
  it('reads periodic durations like etcd, hours as plain numbers, and revision counts', () => {
    expect(parseRetentionMs('1h')).toBe(3_600_000);
    expect(parseRetentionMs('30m')).toBe(1_800_000);
    expect(parseRetentionMs('1h30m')).toBe(5_400_000);
    expect(parseRetentionMs('90s')).toBe(90_000);
    expect(parseRetentionMs('2')).toBe(7_200_000);
    expect(parseRetentionMs('0.5')).toBe(1_800_000);
    expect(readServeConfig(base).autoCompaction).toBeNull(); // off by default, as etcd
    expect(readServeConfig([...base, '--auto_compaction_retention=30m']).autoCompaction).toEqual({ mode: 'periodic', retention: 1_800_000 });
    expect(readServeConfig([...base, '--auto_compaction_mode=revision', '--auto_compaction_retention=1000']).autoCompaction).toEqual({ mode: 'revision', retention: 1000 });
    expect(readServeConfig([...base, '--auto_compaction_mode=revision', '--auto_compaction_retention=0']).autoCompaction).toBeNull();
  });

  it.each([
    [['--auto_compaction_mode=daily'], /--auto_compaction_mode: want one of periodic, revision/],
    [['--auto_compaction_retention=1d'], /not a duration/],
    [['--auto_compaction_retention=-1h'], /not a duration/],
    [['--auto_compaction_mode=revision', '--auto_compaction_retention=1h'], /not a revision count/],
    [['--auto_compaction_retention=1000000h'], /longer than 100 years/],
  ])('rejects %j', (extra, message) => {
    expect(() => readServeConfig([...base, ...extra])).toThrow(UsageError);
    expect(() => readServeConfig([...base, ...extra])).toThrow(message);
  });
});

describe('auto-compaction decision', () => {
  const periodic: AutoCompactionOptions = { mode: 'periodic', retention: 60_000 };
  const revision: AutoCompactionOptions = { mode: 'revision', retention: 100 };

  it('checks as often as etcd does', () => {
    expect(checkIntervalMs(periodic)).toBe(6_000);
    expect(checkIntervalMs({ mode: 'periodic', retention: 72 * 3_600_000 })).toBe(3_600_000);
    expect(checkIntervalMs(revision)).toBe(300_000);
  });

  it('periodic: compacts at the newest revision at least the retention old, never at or below the compacted one', () => {
    const samples = [{ atMs: 0, revision: 10 }, { atMs: 30_000, revision: 50 }, { atMs: 60_000, revision: 80 }];
    expect(compactionTarget(periodic, 59_999, { revision: 90, compactRevision: 0 }, samples)).toBeNull();
    expect(compactionTarget(periodic, 60_000, { revision: 90, compactRevision: 0 }, samples)).toBe(10);
    expect(compactionTarget(periodic, 95_000, { revision: 90, compactRevision: 0 }, samples)).toBe(50);
    expect(compactionTarget(periodic, 95_000, { revision: 90, compactRevision: 50 }, samples)).toBeNull();
  });

  it('revision: keeps the last `retention` revisions', () => {
    expect(compactionTarget(revision, 0, { revision: 100, compactRevision: 0 }, [])).toBeNull();
    expect(compactionTarget(revision, 0, { revision: 350, compactRevision: 0 }, [])).toBe(250);
    expect(compactionTarget(revision, 0, { revision: 350, compactRevision: 250 }, [])).toBeNull();
  });
});

describe('auto-compaction on a running node', () => {
  let server: ServerHandle | null = null;
  let kv: KVClient | null = null;
  let dir = '';
  afterEach(async () => {
    kv?.close();
    kv = null;
    await server?.stop();
    server = null;
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  async function start(autoCompaction: AutoCompactionOptions): Promise<{ put: (k: string) => Promise<number> }> {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-autocompact-'));
    server = await startServer({ id: 1, raftAddr: '127.0.0.1:0', grpcAddr: '127.0.0.1:0', dataDir: dir, bootstrap: true, raft: { tickMs: 20, electionTicks: 10 }, drainGraceMs: 200, autoCompaction });
    await waitUntil(() => server!.node.isLeader(), 10_000, 'the node to lead');
    const client = new KVClient(server.grpcAddress, credentials.createInsecure());
    kv = client;
    const put = (k: string): Promise<number> =>
      new Promise<PutResponse>((resolve, reject) => client.put(PutRequest.fromPartial({ key: Buffer.from(k), value: Buffer.from('v') }), (e, r) => (e ? reject(e) : resolve(r)))).then((r) => r.header?.revision ?? 0);
    return { put };
  }

  it('revision mode: the leader compacts to keep the last `retention` revisions', async () => {
    const { put } = await start({ mode: 'revision', retention: 5, checkIntervalMs: 50 });
    let last = 0;
    for (let i = 0; i < 20; i++) last = await put(`k${i}`);
    await waitUntil(() => server!.store.stats().compactRevision === last - 5, 10_000, `compaction at ${last - 5}; at ${server!.store.stats().compactRevision}`);
    await expect(server!.store.get(Buffer.from('k0'), last - 6)).rejects.toMatchObject({ name: 'RevisionCompactedError' });
  });

  it('periodic mode: history older than the retention is compacted', async () => {
    const { put } = await start({ mode: 'periodic', retention: 300, checkIntervalMs: 30 });
    const first = await put('a');
    await waitUntil(() => server!.store.stats().compactRevision >= first, 10_000, 'a periodic compaction');
    const second = await put('b');
    expect(server!.store.stats().compactRevision).toBeLessThan(second);
    await waitUntil(() => server!.store.stats().compactRevision >= second, 10_000, 'the next periodic compaction');
  });
});
