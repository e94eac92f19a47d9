/**
 * Leases are replicated state: they survive a restart of the whole cluster (each node reloads them
 * from its kv store) and reach a member that catches up through a snapshot, whose restored store
 * still knows which keys belong to which lease (a revoke applied there deletes them). Real `raftkv
 * serve` processes, SIGKILLed and restarted on the same data directories; the npm etcd3 client.
 */
import { credentials } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KVClient, LeaseClient, RangeRequest, type LeaseLeasesResponse, type LeaseTimeToLiveResponse, type RangeResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { CrashCluster, waitUntil } from '../crash/procs.js';

/** Snapshots every 20 entries and 5 entries kept behind them: a member that misses 100 writes needs a snapshot. */
const SNAPSHOT_FLAGS = ['--trailing_logs=5'];

describe('leases across restarts and snapshot installs', () => {
  let c: CrashCluster;
  let client: Etcd3;

  beforeAll(async () => {
    c = await CrashCluster.start(3, { tickMs: 20, electionTicks: 10, snapshotEntries: 20 });
    client = new Etcd3({ hosts: c.grpcAddrs() });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await c?.stop();
  });

  it('keeps a lease and its keys through a full restart and into a member restored from a snapshot', async () => {
    const lease = client.lease(60, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('/r/held').value('v');
    await lease.put('/r/held2').value('v');

    // Node 3 goes down first and misses everything below; then the whole cluster restarts.
    await c.kill(3);
    await c.kill(1);
    await c.kill(2);
    await Promise.all([c.spawn(1, SNAPSHOT_FLAGS), c.spawn(2, SNAPSHOT_FLAGS)]);
    await waitUntil(async () => (await client.get('/r/held').string()) === 'v', 30_000, 'the leased key after the restart', () => c.logs());
    const lease1 = new LeaseClient(c.node(1).grpcAddr, credentials.createInsecure());
    const ttl = await new Promise<LeaseTimeToLiveResponse>((resolve, reject) => lease1.leaseTimeToLive({ ID: Number(id), keys: true }, (e, r) => (e ? reject(e) : resolve(r))));
    lease1.close();
    expect(ttl.grantedTTL).toBe(60);
    expect(ttl.TTL).toBeGreaterThanOrEqual(59); // the new leader restarted the TTL in full (plus an election timeout)
    expect(ttl.keys.map((k) => k.toString()).sort()).toEqual(['/r/held', '/r/held2']);

    // 100 writes: snapshots every 20 entries, 5 kept behind: node 3 can only catch up by a snapshot.
    for (let i = 0; i < 100; i++) await client.put(`/r/filler/${i}`).value(String(i));
    await c.spawn(3, SNAPSHOT_FLAGS);
    const n3 = c.node(3).grpcAddr;
    const kv3 = new KVClient(n3, credentials.createInsecure());
    const lease3 = new LeaseClient(n3, credentials.createInsecure());
    try {
      const local = (key: string): Promise<RangeResponse> =>
        new Promise((resolve, reject) => kv3.range(RangeRequest.fromPartial({ key: Buffer.from(key), serializable: true }), (e, r) => (e ? reject(e) : resolve(r))));
      await waitUntil(async () => (await local('/r/filler/99')).kvs.length === 1, 30_000, 'node 3 to catch up', () => c.logs());
      // Node 3's own store: the keys carry the lease and the lease is listed (LeaseLeases answers locally).
      expect((await local('/r/held')).kvs[0]?.lease).toBe(Number(id));
      const listed = await new Promise<LeaseLeasesResponse>((resolve, reject) => lease3.leaseLeases({}, (e, r) => (e ? reject(e) : resolve(r))));
      expect(listed.leases.map((l) => String(l.ID))).toContain(id);

      // A revoke applied on node 3 finds the keys through the restored attachments.
      await lease.revoke();
      await waitUntil(async () => (await local('/r/held')).kvs.length === 0 && (await local('/r/held2')).kvs.length === 0, 10_000, 'node 3 to delete the leased keys', () => c.logs());
      expect((await local('/r/filler/0')).kvs.length).toBe(1);
    } finally {
      kv3.close();
      lease3.close();
    }
  }, 120_000);
});
