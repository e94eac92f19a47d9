/**
 * Acceptance: the npm `etcd3` client (a client nobody here wrote) against a 3-node raftkv cluster
 * formed through gossip: CRUD, transactions, watch, its Lock and Election recipes, and a lease held by
 * another process that must outlive its TTL while kept alive (also across a leader kill) and take its
 * key with it once that process is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';

const ROOT = join(import.meta.dirname, '../..');
const HOLDER = join(import.meta.dirname, 'lease-holder.ts');
/** Held lease TTL; etcd3 renews every TTL/3. The cluster's minimum (20 ms ticks x 10) is 1 s. */
const HOLDER_TTL_S = 3;

describe('npm etcd3 against a gossip-formed raftkv cluster', () => {
  let c: GossipCluster;
  let leaderId = 0;
  let followers: number[] = [];
  const clients: Etcd3[] = [];
  const children: ChildProcess[] = [];

  const client = (ids: number[]): Etcd3 => {
    const e = new Etcd3({ hosts: ids.map((id) => c.node(id).grpcAddr) });
    clients.push(e);
    return e;
  };

  const leaderOf = async (ids: number[]): Promise<number> => {
    for (const id of ids) {
      try {
        const m = await c.members(id);
        if (m.header.leaderId !== 0 && ids.includes(m.header.leaderId)) return m.header.leaderId;
      } catch {
        // that node may be the one just killed
      }
    }
    return 0;
  };

  beforeAll(async () => {
    c = await GossipCluster.create(3);
    await Promise.all([1, 2, 3].map((id) => c.spawn(id, ['--bootstrap_expect=3'])));
    await c.waitFor(async () => {
      const m = await c.members(1);
      leaderId = m.header.leaderId;
      return m.members.filter((x) => x.suffrage === 'voter').length === 3 && leaderId !== 0;
    }, 30_000, 'a 3-voter cluster with a leader');
    followers = [1, 2, 3].filter((id) => id !== leaderId);
  }, 60_000);

  afterAll(async () => {
    for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
    for (const e of clients) e.close();
    await c?.stop();
  });

  it('does CRUD, transactions and watches through a follower', async () => {
    const e = client([followers[0]!]);
    await e.put('/crud/a').value('1');
    await e.put('/crud/b').value('2');
    expect(await e.get('/crud/a').string()).toBe('1');
    expect(await e.getAll().prefix('/crud/').strings()).toEqual({ '/crud/a': '1', '/crud/b': '2' });
    const won = await e.if('/crud/a', 'Value', '==', '1').then(e.put('/crud/a').value('10')).else(e.put('/crud/c').value('x')).commit();
    expect(won.succeeded).toBe(true);
    const lost = await e.if('/crud/a', 'Value', '==', '1').then(e.put('/crud/a').value('11')).else(e.get('/crud/b')).commit();
    expect(lost.succeeded).toBe(false);
    expect(await e.get('/crud/a').string()).toBe('10');

    const w = await e.watch().prefix('/crud/').create();
    const seen: string[] = [];
    w.on('put', (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    w.on('delete', (kv) => seen.push(`delete ${kv.key.toString()}`));
    await e.put('/crud/b').value('20');
    await e.delete().key('/crud/a');
    await c.waitFor(() => seen.length === 2, 10_000, 'two watch events');
    expect(seen).toEqual(['put /crud/b=20', 'delete /crud/a']);
    await w.cancel();
    expect(await e.getAll().prefix('/crud/').keys()).toEqual(['/crud/b']);
  });

  it("excludes a second holder with etcd3's Lock until the first releases", async () => {
    const a = client([followers[0]!]);
    const b = client([followers[1]!]);
    const first = await a.lock('/locks/res').ttl(5).acquire();
    await expect(b.lock('/locks/res').ttl(5).acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);
    await first.release();
    const second = await b.lock('/locks/res').ttl(5).acquire();
    await expect(a.lock('/locks/res').ttl(5).acquire()).rejects.toBeInstanceOf(EtcdLockFailedError);
    await second.release();
  });

  it("elects one leader at a time with etcd3's Election", async () => {
    const a = client([followers[0]!]);
    const b = client([leaderId]);
    const one = a.election('el').campaign('one');
    await one.wait();
    const two = b.election('el').campaign('two');
    let twoElected = false;
    two.on('elected', () => (twoElected = true));
    // Once two's candidate key exists, two is campaigning; it must not be elected while one leads.
    const twoKey = await two.getCampaignKey();
    await c.waitFor(async () => (await a.get(twoKey).string()) === 'two', 10_000, "two's candidate key");
    expect(await a.election('el').leader()).toBe('one');
    expect(twoElected).toBe(false);
    await one.resign();
    await two.wait();
    expect(await b.election('el').leader()).toBe('two');
    await two.resign();
  });

  it('keeps a kept-alive lease past its TTL and across a leader kill, and drops its key after the holder is SIGKILLed', async () => {
    const endpoints = followers.map((id) => c.node(id).grpcAddr).join(',');
    const holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, endpoints, '/held', String(HOLDER_TTL_S)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(holder);
    let out = '', err = '';
    holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await c.waitFor(() => out.includes('\n'), 20_000, `the lease holder to start (stderr: ${err})`);
    const leaseId = (JSON.parse(out.split('\n')[0]!) as { lease: string }).lease;

    const e = client(followers);
    let deletedAtMs = 0;
    const w = await e.watch().key('/held').create();
    w.on('delete', () => (deletedAtMs ||= Date.now()));
    const kept = async (ms: number): Promise<void> => {
      // The key must stay for the whole span; polling shows it at least every 250 ms.
      const until = Date.now() + ms;
      while (Date.now() < until) {
        expect(await e.get('/held').string()).toBe('held');
        expect(deletedAtMs).toBe(0);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await kept(2 * HOLDER_TTL_S * 1000);

    // Kill the leader: the new one gives the lease a full TTL, and the holder's keep-alives reach it.
    const oldLeader = leaderId;
    await c.kill(oldLeader, 'SIGKILL');
    await c.waitFor(async () => (leaderId = await leaderOf(followers)) !== 0, 20_000, 'a new leader among the survivors');
    expect(leaderId).not.toBe(oldLeader);
    await kept(2 * HOLDER_TTL_S * 1000);
    expect(holder.exitCode).toBeNull(); // the holder never saw its lease lost

    const killedAtMs = Date.now();
    holder.kill('SIGKILL');
    await c.waitFor(() => deletedAtMs !== 0, 20_000, 'the held key to be deleted with its lease');
    const goneAfterMs = deletedAtMs - killedAtMs;
    // The last keep-alive renewed the lease at most TTL/3 before the kill: at least 2/3 of it remained.
    expect(goneAfterMs).toBeGreaterThanOrEqual(1_500);
    expect(goneAfterMs).toBeLessThan(HOLDER_TTL_S * 1000 + 4_000);
    expect(await e.get('/held').string()).toBeNull();
    console.log(`held key deleted ${goneAfterMs} ms after its holder was SIGKILLed (lease ${leaseId}, TTL ${HOLDER_TTL_S} s)`);
    await w.cancel();
  }, 120_000);
});
