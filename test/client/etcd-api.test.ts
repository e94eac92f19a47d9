import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import {
  ClientAbortedError, LeaseExpiredError, RaftkvClient, UnimplementedError, type LeaderResult,
} from '../../src/client/index.js';
import { startCluster, waitFor, type TestCluster } from './cluster.js';
import { deadAddress } from './scripted-server.js';

/** Leases, sessions, locks, elections and compaction through the client, on an in-process 3-node cluster. */

let cluster: TestCluster | null = null;
let client: RaftkvClient;

beforeAll(async () => {
  cluster = await startCluster('client-etcd');
  client = cluster.client;
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

const keysUnder = async (prefix: string): Promise<string[]> => (await client.range({ prefix })).kvs.map((kv) => kv.key.toString());

describe('leases', () => {
  it('grant, put with the lease, time-to-live with keys, list, keep-alive, revoke', async () => {
    const g = await client.leaseGrant(30);
    expect(g.ttlSeconds).toBe(30);
    await client.put('l/a', '1', { lease: g.id });
    expect((await client.get('l/a')).kv?.lease).toBe(g.id);
    const t = await client.leaseTimeToLive(g.id, { keys: true });
    expect(t).toMatchObject({ id: g.id, grantedTtlSeconds: 30 });
    expect(t.ttlSeconds).toBeGreaterThan(25);
    expect(t.keys.map(String)).toEqual(['l/a']);
    expect((await client.leases()).ids).toContain(g.id);
    expect(await client.leaseKeepAliveOnce(g.id)).toEqual({ id: g.id, ttlSeconds: 30 });
    await client.leaseRevoke(g.id);
    expect((await client.get('l/a')).kv).toBeNull();
    expect((await client.leaseTimeToLive(g.id)).ttlSeconds).toBe(-1);
    const gone = await client.leaseKeepAliveOnce(g.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(LeaseExpiredError);
    expect((gone as LeaseExpiredError).code).toBe(ErrorCode.NotFound);
    // The server's own error for a revoke of an unknown lease, typed.
    await expect(client.leaseRevoke(g.id)).rejects.toMatchObject({ code: ErrorCode.NotFound, message: 'etcdserver: requested lease not found' });
  });

  it('a session keeps its lease alive past its TTL, through a dead first endpoint, and close() revokes it', async () => {
    const live = [...(cluster as TestCluster).servers.values()].map((s) => s.grpcAddress);
    const c = new RaftkvClient({ endpoints: [await deadAddress(), ...live], retry: { backoffBaseMs: 5, backoffCapMs: 50 } });
    try {
      // 1 s is this cluster's minimum TTL (20 ms ticks): without renewals the key would go within about a second.
      const session = await c.session({ ttlSeconds: 1 });
      expect(session.ttlSeconds).toBe(1);
      await c.put('sess/k', 'v', { lease: session.leaseId });
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        expect((await c.get('sess/k')).kv?.value.toString()).toBe('v');
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(session.lost.aborted).toBe(false);
      await session.close();
      expect((await c.get('sess/k')).kv).toBeNull();
    } finally {
      c.close();
    }
  });

  it('without keep-alives the lease expires and takes its keys', async () => {
    const g = await client.leaseGrant(1);
    await client.put('exp/k', 'v', { lease: g.id });
    await waitFor('the lease to expire', 15_000, async () => (await client.get('exp/k')).kv === null);
    expect((await client.leaseTimeToLive(g.id)).ttlSeconds).toBe(-1);
  });
});

describe('locks', () => {
  it('a second session waits for the lock until the first unlocks; an abort ends a wait', async () => {
    const s1 = await client.session({ ttlSeconds: 10 });
    const s2 = await client.session({ ttlSeconds: 10 });
    const s3 = await client.session({ ttlSeconds: 10 });
    try {
      const l1 = await client.lock('lk', s1.leaseId);
      expect(l1.key.toString()).toBe(`lk/${s1.leaseId.toString(16)}`);
      let second: Buffer | null = null;
      const p2 = client.lock('lk', s2.leaseId).then((r) => (second = r.key));
      await waitFor('the second locker to queue', 10_000, async () => (await keysUnder('lk/')).length === 2);
      expect(second).toBeNull();
      // A third waiter gives up.
      const ac = new AbortController();
      const p3 = client.lock('lk', s3.leaseId, { signal: ac.signal });
      await waitFor('the third locker to queue', 10_000, async () => (await keysUnder('lk/')).length === 3);
      ac.abort();
      await expect(p3).rejects.toBeInstanceOf(ClientAbortedError);
      await client.unlock(l1.key);
      await p2;
      expect(String(second)).toBe(`lk/${s2.leaseId.toString(16)}`);
    } finally {
      await Promise.all([s1.close(), s2.close(), s3.close()]);
    }
    expect(await keysUnder('lk/')).toEqual([]);
  });
});

describe('elections', () => {
  it('campaign, leader, proclaim, observe, and the next candidate wins when the leader resigns', async () => {
    const s1 = await client.session({ ttlSeconds: 10 });
    const s2 = await client.session({ ttlSeconds: 10 });
    const ac = new AbortController();
    const seen: string[] = [];
    try {
      expect((await client.leader('el')).kv).toBeNull();
      const a = await client.campaign('el', 'alpha', s1.leaseId);
      expect(a.key.toString()).toBe(`el/${s1.leaseId.toString(16)}`);
      expect((await client.leader('el')).kv?.value.toString()).toBe('alpha');
      const observing = (async () => {
        for await (const r of client.observe('el', { signal: ac.signal }) as AsyncIterable<LeaderResult>) seen.push(String(r.kv?.value));
      })().catch((e: unknown) => e);
      await waitFor('the observer to see alpha', 10_000, async () => seen.includes('alpha'));
      await client.proclaim(a, 'alpha2');
      await waitFor('the observer to see alpha2', 10_000, async () => seen.includes('alpha2'));
      const pb = client.campaign('el', 'beta', s2.leaseId);
      await waitFor('beta to campaign', 10_000, async () => (await keysUnder('el/')).length === 2);
      await client.resign(a);
      const b = await pb;
      expect(b.lease).toBe(s2.leaseId);
      await waitFor('the observer to see beta', 10_000, async () => seen.includes('beta'));
      // A resigned leader cannot proclaim.
      await expect(client.proclaim(a, 'late')).rejects.toMatchObject({ code: ErrorCode.FailedPrecondition, message: 'election: not leader' });
      ac.abort();
      expect(await observing).toBeInstanceOf(ClientAbortedError);
    } finally {
      ac.abort();
      await Promise.all([s1.close(), s2.close()]);
    }
  });
});

describe('compaction and watch from a revision', () => {
  it('compact succeeds or fails with UnimplementedError; a watch replays from the revision it names', async () => {
    const first = await client.put('cw/a', '1');
    await client.put('cw/a', '2');
    const r = await client.compact(first.revision).catch((e: unknown) => e);
    if (r instanceof Error) {
      expect(r).toBeInstanceOf(UnimplementedError);
      expect((r as UnimplementedError).code).toBe(ErrorCode.FailedPrecondition);
    }
    const ac = new AbortController();
    const values: string[] = [];
    const from = r instanceof Error ? first.revision : first.revision + 1;
    for await (const b of client.watch('cw/a', { fromRevision: from, signal: ac.signal })) {
      values.push(...b.events.map((e) => e.kv.value.toString()));
      if (values.length >= (r instanceof Error ? 2 : 1)) break;
    }
    expect(values).toEqual(r instanceof Error ? ['1', '2'] : ['2']);
  });
});

// Last: it stops a member.
describe('failover of streams', () => {
  it('a watch on a member that stops resumes on another, without losing or repeating events', async () => {
    const servers = (cluster as TestCluster).servers;
    const victim = servers.get(3)!;
    const others = [...servers.values()].filter((s) => s !== victim).map((s) => s.grpcAddress);
    const c = new RaftkvClient({ endpoints: [victim.grpcAddress, ...others], retry: { backoffBaseMs: 5, backoffCapMs: 100 } });
    const ac = new AbortController();
    const seen: string[] = [];
    try {
      const watching = (async () => {
        for await (const b of c.watch({ prefix: 'fo/' }, { signal: ac.signal })) seen.push(...b.events.map((e) => e.kv.key.toString()));
      })().catch((e: unknown) => e);
      await waitFor('the watch to deliver fo/1', 10_000, async () => {
        if (!seen.includes('fo/1')) await client.put('fo/1', 'x');
        return seen.includes('fo/1');
      });
      servers.delete(3);
      await victim.stop();
      for (const k of ['fo/2', 'fo/3']) await client.put(k, 'x', { timeoutMs: 15_000 });
      await waitFor('the watch to deliver fo/3', 20_000, async () => seen.includes('fo/3'));
      expect(seen.filter((k) => k !== 'fo/1')).toEqual(['fo/2', 'fo/3']);
      ac.abort();
      expect(await watching).toBeInstanceOf(ClientAbortedError);
    } finally {
      ac.abort();
      c.close();
    }
  });
});
