import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '../../src/node/server.js';
import { RaftkvClient, type WatchBatch } from '../../src/client/index.js';
import { startCluster, waitFor, type TestCluster } from './cluster.js';
import { deadAddress } from './scripted-server.js';

/** The client against an in-process 3-node cluster (real sockets on loopback, LevelDB in a temp dir). */

let cluster: TestCluster | null = null;
let client: RaftkvClient;
const servers = new Map<number, ServerHandle>();

beforeAll(async () => {
  cluster = await startCluster('client-e2e');
  client = cluster.client;
  for (const [id, s] of cluster.servers) servers.set(id, s);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('client end to end', () => {
  it('put / get / cas / delete / range', async () => {
    const p = await client.put('a/1', 'one');
    expect(p.revision).toBeGreaterThan(0);
    expect((await client.get('a/1')).kv?.value.toString()).toBe('one');
    await waitFor('stale read to catch up', 5000, async () => (await client.get('a/1', { consistency: 'stale' })).kv?.value.toString() === 'one');

    expect((await client.cas('a/1', 'wrong', 'x')).succeeded).toBe(false);
    const failed = await client.cas('a/1', 'wrong', 'x');
    expect(failed.current?.value.toString()).toBe('one');
    expect((await client.cas('a/1', 'one', 'two')).succeeded).toBe(true);
    expect((await client.cas('a/2', null, 'new')).succeeded).toBe(true);
    expect((await client.cas('a/2', null, 'again')).succeeded).toBe(false);

    await client.put('a/3', 'three');
    await client.put('b/1', 'other');
    const all = await client.range({ prefix: 'a/' });
    expect(all.kvs.map((kv) => `${kv.key}=${kv.value}`)).toEqual(['a/1=two', 'a/2=new', 'a/3=three']);
    const page1 = await client.range({ prefix: 'a/' }, { limit: 2 });
    expect(page1.kvs).toHaveLength(2);
    expect(page1.count).toBe(3);
    expect(page1.more).toBe(true);
    const page2 = await client.range({ prefix: 'a/' }, { limit: 2, startAfter: page1.nextStartAfter as Buffer });
    expect(page2.kvs.map((kv) => kv.key.toString())).toEqual(['a/3']);
    expect((await client.range({ start: 'a/2', end: 'b/' }, { keysOnly: true })).kvs.map((kv) => [kv.key.toString(), kv.value.length])).toEqual([['a/2', 0], ['a/3', 0]]);

    expect((await client.delete('a/3')).deleted).toBe(1);
    expect((await client.get('a/3')).kv).toBeNull();
    expect((await client.delete({ prefix: 'a/' })).deleted).toBe(2);
    expect((await client.range({ prefix: 'a/' }, { countOnly: true })).count).toBe(0);
  });

  it('watch delivers every change in order, from a past revision', async () => {
    const first = await client.put('w/x', '1');
    await client.put('w/y', '2');
    await client.delete('w/x');
    const ac = new AbortController();
    const seen: string[] = [];
    const iter = client.watch({ prefix: 'w/' }, { fromRevision: first.revision, signal: ac.signal });
    const consumer = (async () => {
      for await (const b of iter as AsyncIterable<WatchBatch>) {
        for (const e of b.events) seen.push(`${e.type} ${e.kv.key}${e.type === 'put' ? `=${e.kv.value}` : ''}`);
        if (seen.length >= 4) return;
      }
    })();
    await client.put('w/z', '3');
    await consumer;
    expect(seen).toEqual(['put w/x=1', 'put w/y=2', 'delete w/x', 'put w/z=3']);
  });

  it('fails over when an endpoint is dead', async () => {
    const dead = await deadAddress();
    const s3 = servers.get(3) as ServerHandle;
    const c = new RaftkvClient({ endpoints: [dead, s3.grpcAddress], retry: { backoffBaseMs: 5, backoffCapMs: 20 } });
    try {
      await c.put('f/1', 'v');
      expect((await c.get('f/1')).kv?.value.toString()).toBe('v');
      const st = await c.status();
      expect(st.header.memberId).toBe(3);
    } finally {
      c.close();
    }
  });
});
