import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Compare_Result, Consistency, type WatchResponse } from '../../src/gen/raftkv/v1/kv.js';
import { deadline, TestCluster, unary } from './cluster.js';
import { get, put, range, txn } from './kv.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('raftkv service on a 3-process cluster', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start(3);
  }, 40_000);

  afterAll(async () => {
    await c?.stop();
  });

  async function roles(): Promise<{ leader: number; followers: number[] }> {
    const leader = await c.leaderId();
    return { leader, followers: [...c.nodes.keys()].filter((id) => id !== leader) };
  }

  it('accepts a write through a follower (forwarded to the leader)', async () => {
    const { leader, followers } = await roles();
    const res = await put(c.node(followers[0]!).kv, 'fw/a', 'v1');
    expect(res.header!.memberId).toBe(leader);
    const got = await get(c.node(leader).kv, 'fw/a');
    expect(got.kv?.value.toString()).toBe('v1');
  });

  it('a linearizable read through a follower returns the latest acknowledged write', async () => {
    const { leader, followers } = await roles();
    const writers = [c.node(leader), c.node(followers[0]!)];
    const reader = c.node(followers[1]!);
    for (let i = 0; i < 20; i++) {
      await put(writers[i % 2]!.kv, 'lin/k', String(i));
      const got = await get(reader.kv, 'lin/k', Consistency.CONSISTENCY_LINEARIZABLE);
      expect(got.kv?.value.toString()).toBe(String(i));
      expect(got.header!.memberId).toBe(reader.id);
    }
    const stale = await get(reader.kv, 'lin/k', Consistency.CONSISTENCY_STALE);
    expect(stale.header!.memberId).toBe(reader.id);
  });

  it('concurrent CAS clients: exactly one wins each round', async () => {
    await put(c.node(1).kv, 'cas/k', 'start');
    for (let round = 0; round < 5; round++) {
      const cur = await get(c.node(1).kv, 'cas/k');
      const mod = cur.kv!.modRevision;
      const results = await Promise.all(
        [...c.nodes.values()].map((n) =>
          txn(n.kv, {
            compare: [{ key: b('cas/k'), result: Compare_Result.EQUAL, target: { $case: 'modRevision', modRevision: mod } }],
            success: [{ request: { $case: 'put', put: { key: b('cas/k'), value: b(`r${round}-n${n.id}`), prevKv: false } } }],
          }),
        ),
      );
      const winners = results.filter((r) => r.succeeded);
      expect(winners).toHaveLength(1);
      const after = await get(c.node(2).kv, 'cas/k');
      expect(after.kv!.modRevision).toBe(winners[0]!.header!.revision);
      expect(after.kv!.value.toString()).toMatch(new RegExp(`^r${round}-n\\d$`));
    }
  });

  it('a watch sees every revision in order across a leader change', async () => {
    const { leader } = await roles();
    const watched = c.node(leader === 1 ? 2 : 1);
    const seen: number[] = [];
    const values: string[] = [];
    const stream = watched.kv.watch({ key: Buffer.alloc(0), prefix: b('w/'), startRevision: 0, prevKv: false });
    stream.on('data', (r: WatchResponse) => {
      for (const e of r.events) {
        seen.push(e.kv!.modRevision);
        values.push(e.kv!.value.toString());
      }
    });
    stream.on('error', () => undefined);
    // The watch is registered once a write through the watched node shows up on it.
    await put(watched.kv, 'w/probe', 'probe');
    await c.waitFor(() => values.includes('probe'), 5000, 'the watch to start');
    const acked: number[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 15) {
        const res = await unary<{ newLeaderId: number }>((cb) => c.node(leader).cluster.transferLeadership({ targetId: 0 }, new Metadata(), deadline(5000), cb));
        expect(res.newLeaderId).not.toBe(leader);
      }
      const via = c.node((i % 3) + 1);
      acked.push((await put(via.kv, `w/${i}`, `v${i}`)).header!.revision);
    }
    await c.waitFor(() => values.includes('v29'), 5000, 'the watch to deliver every write');
    stream.cancel();
    const fromProbe = seen.slice(values.indexOf('probe') + 1);
    expect(fromProbe).toEqual(acked);
    expect(values.slice(values.indexOf('probe') + 1)).toEqual(acked.map((_, i) => `v${i}`));
  });

  it('rejects bad input with INVALID_ARGUMENT and a clear message; the node stays healthy', async () => {
    const n = c.node(2);
    const expectStatus = async (p: Promise<unknown>, code: status, text: RegExp): Promise<void> => {
      const err = (await p.then(() => null, (e: unknown) => e)) as ServiceError | null;
      expect(err, `expected status ${code}`).not.toBeNull();
      expect(err!.code).toBe(code);
      expect(err!.details).toMatch(text);
    };
    await expectStatus(put(n.kv, '', 'v'), status.INVALID_ARGUMENT, /key is empty/);
    await expectStatus(put(n.kv, Buffer.alloc(4097, 97), 'v'), status.INVALID_ARGUMENT, /4097 bytes; the limit is 4096/);
    await expectStatus(put(n.kv, 'big', Buffer.alloc(1024 * 1024 + 1)), status.INVALID_ARGUMENT, /value is 1048577 bytes/);
    await expectStatus(put(n.kv, 'huge', Buffer.alloc(2 * 1024 * 1024)), status.RESOURCE_EXHAUSTED, /larger than max|message/i);
    const ops = Array.from({ length: 129 }, (_, i) => ({ request: { $case: 'put' as const, put: { key: b(`t${i}`), value: b('v'), prevKv: false } } }));
    await expectStatus(txn(n.kv, { success: ops }), status.INVALID_ARGUMENT, /129 entries; the limit is 128/);
    await expectStatus(range(n.kv, '', 5000, { start: b('z'), end: b('a') }), status.INVALID_ARGUMENT, /end must sort after start/);
    await expectStatus(get(n.kv, ''), status.INVALID_ARGUMENT, /key is empty/);

    // Raw bytes that are not a protobuf message, and a method that does not exist.
    const identity = (x: Buffer): Buffer => x;
    const Raw = makeGenericClientConstructor(
      {
        put: { path: '/raftkv.v1.KV/Put', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
        nope: { path: '/raftkv.v1.KV/Nope', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
      },
      'raw',
    );
    const raw = new Raw(n.grpcAddr, credentials.createInsecure()) as unknown as Record<string, (req: Buffer, md: Metadata, o: object, cb: (e: ServiceError | null, r: Buffer) => void) => void>;
    try {
      await expectStatus(unary((cb) => raw.put!(Buffer.from([0x0f, 0xff, 0xff]), new Metadata(), deadline(), cb)), status.INVALID_ARGUMENT, /not a valid protobuf message/);
      await expectStatus(unary((cb) => raw.nope!(Buffer.from([]), new Metadata(), deadline(), cb)), status.UNIMPLEMENTED, /./);
    } finally {
      (raw as unknown as { close(): void }).close();
    }

    await put(n.kv, 'after/bad', 'ok');
    expect((await get(n.kv, 'after/bad')).kv?.value.toString()).toBe('ok');
  });

  it('reports SERVING on grpc.health.v1 while a leader is known', async () => {
    const pkg = loadPackageDefinition(loadSync(healthProto, { keepCase: true, enums: String })) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => { check: (r: object, md: Metadata, o: object, cb: (e: ServiceError | null, r: { status: string }) => void) => void; close(): void } } } } };
    const client = new pkg.grpc.health.v1.Health(c.node(3).grpcAddr, credentials.createInsecure());
    try {
      const res = await unary<{ status: string }>((cb) => client.check({ service: 'raftkv.v1.KV' }, new Metadata(), deadline(), cb));
      expect(res.status).toBe('SERVING');
    } finally {
      client.close();
    }
  });
});
