/**
 * Acceptance for the multi-version keyspace: Debian's etcdctl 3.4 against a 3-node cluster of real
 * `raftkv serve` processes (SIGKILLed and restarted on the same data directories). Reads at past
 * revisions, watches from the past served by a restarted node and by a node restored from a snapshot,
 * and compaction with etcd's own error texts. Skipped when etcdctl is not installed.
 */
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KVClient, RangeRequest, TxnRequest, type RangeResponse, type TxnResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { CrashCluster, waitUntil } from '../crash/procs.js';
import { HAVE_ETCDCTL, ctl, ctlJson, ctlProcess, unb64, type CtlRange } from './ctl.js';

if (!HAVE_ETCDCTL) console.warn('test/etcd/etcdctl-mvcc.test.ts skipped: etcdctl is not installed (apt-get install etcd-client)');

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';
const FUTURE = 'etcdserver: mvcc: required revision is a future revision';
/** Snapshots every 20 entries, 5 entries kept behind them: a member that misses 60 writes needs a snapshot. */
const SNAPSHOT_FLAGS = ['--trailing_logs=5'];

/** etcdctl's watch output: TYPE, key, value per event (no --prev-kv). */
function watchEvents(out: string): string[] {
  const lines = out.split('\n');
  const events: string[] = [];
  for (let i = 0; i + 2 < lines.length; i++) {
    if (lines[i] !== 'PUT' && lines[i] !== 'DELETE') continue;
    events.push(`${lines[i]} ${lines[i + 1]} ${lines[i + 2]}`.trim());
    i += 2;
  }
  return events;
}

function txnReadAt(kv: KVClient, key: string, revision: number): Promise<TxnResponse> {
  const req = TxnRequest.fromPartial({ success: [{ request: { $case: 'requestRange', requestRange: RangeRequest.fromPartial({ key: Buffer.from(key), revision }) } }] });
  return new Promise((resolve, reject) => kv.txn(req, (e, r) => (e ? reject(e) : resolve(r))));
}

describe.skipIf(!HAVE_ETCDCTL)('etcdctl 3.4: revisions, watch history and compaction', () => {
  let c: CrashCluster;
  const addr = (id: number): string => c.node(id).grpcAddr;
  /** Revisions of the writes in the first test. */
  const rev: number[] = [];
  const stops: Array<() => void> = [];

  beforeAll(async () => {
    c = await CrashCluster.start(3, { tickMs: 20, electionTicks: 10, snapshotEntries: 20 });
  }, 60_000);

  afterAll(async () => {
    for (const stop of stops) stop();
    await c?.stop();
  });

  const put = async (id: number, key: string, value: string): Promise<number> => (await ctlJson<{ header: { revision: number } }>(addr(id), ['put', key, value])).header.revision;

  it('reads every Range form at past revisions', async () => {
    rev.push(await put(1, '/m/k', 'v1')); // 0
    rev.push(await put(2, '/m/k', 'v2')); // 1
    rev.push(await put(3, '/m/j', 'j1')); // 2
    rev.push(await put(1, '/m/k', 'v3')); // 3
    rev.push((await ctlJson<{ header: { revision: number } }>(addr(2), ['del', '/m/k'])).header.revision); // 4
    rev.push(await put(3, '/m/k', 'v4')); // 5
    expect(rev).toEqual(rev.map((_, i) => rev[0]! + i));

    const atV2 = await ctlJson<CtlRange>(addr(2), ['get', '/m/k', `--rev=${rev[1]}`]);
    expect(atV2.kvs?.map((k) => [unb64(k.value), k.version, k.create_revision, k.mod_revision])).toEqual([['v2', 2, rev[0], rev[1]]]);
    expect(atV2.header.revision).toBe(rev[5]); // the header names the current revision, as etcd's
    expect((await ctlJson<CtlRange>(addr(3), ['get', '/m/k', `--rev=${rev[4]}`, '--consistency=s'])).kvs ?? []).toEqual([]);

    const prefix = await ctlJson<CtlRange>(addr(1), ['get', '/m/', '--prefix', `--rev=${rev[3]}`]);
    expect(prefix.kvs?.map((k) => `${unb64(k.key)}=${unb64(k.value)}`)).toEqual(['/m/j=j1', '/m/k=v3']);
    const limited = await ctlJson<CtlRange>(addr(2), ['get', '/m/', '--prefix', `--rev=${rev[3]}`, '--limit=1']);
    expect([limited.kvs?.length, limited.more, limited.count]).toEqual([1, true, 2]);
    const atJ = await ctlJson<CtlRange>(addr(3), ['get', '/m/', '--prefix', `--rev=${rev[2]}`, '--consistency=s']);
    expect([atJ.kvs?.map((k) => unb64(k.value)), atJ.count]).toEqual([['j1', 'v2'], 2]);
    const sorted = await ctlJson<CtlRange>(addr(1), ['get', '/m/', '--prefix', `--rev=${rev[3]}`, '--sort-by=MODIFY', '--order=DESCEND', '--keys-only']);
    expect(sorted.kvs?.map((k) => [unb64(k.key), k.value])).toEqual([['/m/k', undefined], ['/m/j', undefined]]);
    // etcdctl 3.4 has no flags for these Range fields: the generated etcd client sends them.
    const kv = new KVClient(addr(2), credentials.createInsecure());
    try {
      const range = (req: Partial<RangeRequest>): Promise<RangeResponse> =>
        new Promise((resolve, reject) => kv.range(RangeRequest.fromPartial({ key: Buffer.from('/m/'), rangeEnd: Buffer.from('/m0'), ...req }), (e, r) => (e ? reject(e) : resolve(r))));
      const filtered = await range({ revision: rev[3]!, maxModRevision: rev[2]! });
      expect(filtered.kvs.map((k) => k.key.toString())).toEqual(['/m/j']);
      expect(filtered.count).toBe(2); // count ignores the filters, as etcd's
      const counted = await range({ revision: rev[2]!, countOnly: true });
      expect([counted.kvs, counted.count]).toEqual([[], 2]);
      const created = await range({ revision: rev[5]!, minCreateRevision: rev[5]! });
      expect(created.kvs.map((k) => `${k.key.toString()}@${k.createRevision}/${k.version}`)).toEqual([`/m/k@${rev[5]}/1`]);
      // A Range inside a Txn reads at its revision too.
      const txn = await txnReadAt(kv, '/m/k', rev[1]!);
      const inner = txn.responses[0]?.response;
      expect(inner?.$case === 'responseRange' ? inner.responseRange.kvs.map((k) => k.value.toString()) : null).toEqual(['v2']);
    } finally {
      kv.close();
    }

    const future = await ctl(addr(1), ['get', '/m/k', `--rev=${rev[5]! + 1000}`]);
    expect(future.code).not.toBe(0);
    expect(future.stderr).toContain(FUTURE);
  });

  it('serves watches from the past after a restart and after a snapshot install', async () => {
    // Node 3 stops; nodes 1 and 2 restart keeping only 5 log entries behind their snapshots, then 60
    // more writes leave node 3 too far behind the leader's log: it can only catch up by a snapshot.
    const node3Last = (await c.node(3).local.status({ timeoutMs: 2000 })).lastLogIndex;
    await c.kill(3);
    for (const id of [2, 1]) {
      await c.kill(id);
      await c.spawn(id, SNAPSHOT_FLAGS);
    }
    for (let i = 0; i < 60; i++) await put(i % 2 === 0 ? 1 : 2, `/fill/${i}`, String(i));
    const leader = (await c.node(1).local.status({ timeoutMs: 2000 })).header.leaderId;
    expect((await c.node(leader).local.status({ timeoutMs: 2000 })).firstLogIndex).toBeGreaterThan(node3Last + 1);
    await c.spawn(3, SNAPSHOT_FLAGS);
    const last = await put(1, '/m/after', 'x');
    for (const id of [2, 3]) {
      await waitUntil(async () => (await ctlJson<CtlRange>(addr(id), ['get', '/m/after', '--consistency=s'])).kvs?.length === 1, 30_000, `node ${id} to catch up`, () => c.logs());
    }
    const expected = ['PUT /m/k v1', 'PUT /m/k v2', 'PUT /m/k v3', 'DELETE /m/k', 'PUT /m/k v4'];
    for (const id of [1, 2, 3]) {
      const w = ctlProcess(addr(id), ['watch', '/m/k', `--rev=${rev[0]}`]);
      stops.push(w.stop);
      await waitUntil(() => watchEvents(w.out()).length >= expected.length, 15_000, `node ${id}'s watch to replay the history; got ${JSON.stringify(w.out())}`);
      expect(watchEvents(w.out())).toEqual(expected);
      w.stop();
      // The restored and the restarted store answer past reads like the leader's.
      const here = await ctlJson<CtlRange>(addr(id), ['get', '/', '--prefix', `--rev=${last - 1}`, '--consistency=s', '--keys-only']);
      const there = await ctlJson<CtlRange>(addr(1), ['get', '/', '--prefix', `--rev=${last - 1}`, '--consistency=s', '--keys-only']);
      expect(here.kvs).toEqual(there.kvs);
      expect(here.count).toBe(62);
    }
  }, 120_000);

  it('compacts with etcd\'s answers and errors, also --physical, and keeps the compaction across a restart', async () => {
    // etcd accepts revision 0 while nothing is compacted, and refuses it afterwards.
    expect((await ctl(addr(1), ['compaction', '0'])).stdout.trim()).toBe('compacted revision 0');
    const compacted = await ctl(addr(2), ['compaction', String(rev[1])]);
    expect(compacted.stdout.trim()).toBe(`compacted revision ${rev[1]}`);
    const old = await ctl(addr(1), ['get', '/m/k', `--rev=${rev[0]}`]);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain(COMPACTED);
    // The compacted revision itself stays readable and watchable, as in etcd.
    expect(unb64((await ctlJson<CtlRange>(addr(3), ['get', '/m/k', `--rev=${rev[1]}`])).kvs?.[0]?.value)).toBe('v2');
    const again = await ctl(addr(1), ['compaction', String(rev[1])]);
    expect(again.stderr).toContain(COMPACTED);
    expect((await ctl(addr(2), ['compaction', '0'])).stderr).toContain(COMPACTED);
    const ahead = await ctl(addr(1), ['compaction', String(rev[5]! + 100_000)]);
    expect(ahead.stderr).toContain(FUTURE);
    const kv = new KVClient(addr(3), credentials.createInsecure());
    try {
      await expect(txnReadAt(kv, '/m/k', rev[0]!)).rejects.toMatchObject({ details: COMPACTED });
    } finally {
      kv.close();
    }
    const watchOld = await ctl(addr(2), ['watch', '/m/k', `--rev=${rev[0]}`]);
    expect(watchOld.stdout + watchOld.stderr).toContain(`watch was canceled (${COMPACTED})`);

    const physical = await ctl(addr(3), ['compaction', '--physical', String(rev[3])]);
    expect(physical.stdout.trim()).toBe(`compacted revision ${rev[3]}`);
    for (const id of [1, 2, 3]) {
      await waitUntil(async () => (await ctl(addr(id), ['get', '/m/k', `--rev=${rev[2]}`, '--consistency=s'])).stderr.includes(COMPACTED), 10_000, `node ${id} to apply the compaction`);
      expect(unb64((await ctlJson<CtlRange>(addr(id), ['get', '/m/k', `--rev=${rev[3]}`, '--consistency=s'])).kvs?.[0]?.value)).toBe('v3');
    }
    await c.kill(1);
    await c.spawn(1);
    await waitUntil(async () => (await ctl(addr(1), ['get', '/m/k', `--rev=${rev[2]}`, '--consistency=s'])).stderr.includes(COMPACTED), 15_000, 'node 1 to answer after its restart', () => c.logs());
    expect(unb64((await ctlJson<CtlRange>(addr(1), ['get', '/m/k', `--rev=${rev[3]}`, '--consistency=s'])).kvs?.[0]?.value)).toBe('v3');
  }, 90_000);
});
