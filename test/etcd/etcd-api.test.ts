/**
 * etcd's wire protocol details that etcdctl does not exercise, against a real single-node raftkv
 * (child process) with gRPC clients generated from etcd's protos: error codes and texts, range_end
 * forms and filters, and the Watch stream's ids, filters, cancel and progress requests.
 */
import { credentials, Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  KVClient,
  LeaseClient,
  type LeaseGrantResponse,
  type LeaseKeepAliveRequest,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
  type LeaseKeepAliveResponse,
  RangeRequest,
  TxnRequest,
  WatchClient,
  WatchCreateRequest_FilterType,
  type PutRequest,
  type PutResponse,
  type RangeResponse,
  type TxnResponse,
  type WatchRequest,
  type WatchResponse,
} from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { TestCluster } from '../service/cluster.js';

const B = (s: string): Buffer => Buffer.from(s);

describe('etcd v3 API details', () => {
  let c: TestCluster;
  let kv: InstanceType<typeof KVClient>;
  let watch: InstanceType<typeof WatchClient>;

  beforeAll(async () => {
    c = await TestCluster.start(1);
    const addr = c.node(1).grpcAddr;
    kv = new KVClient(addr, credentials.createInsecure());
    watch = new WatchClient(addr, credentials.createInsecure());
  }, 60_000);

  afterAll(async () => {
    kv?.close();
    watch?.close();
    await c?.stop();
  });

  const put = (key: string, value: string, extra: Partial<PutRequest> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => kv.put({ key: B(key), value: B(value), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false, ...extra }, (e, r) => (e ? reject(e) : resolve(r))));
  const range = (req: Partial<RangeRequest>): Promise<RangeResponse> =>
    new Promise((resolve, reject) => kv.range(RangeRequest.fromPartial(req), (e, r) => (e ? reject(e) : resolve(r))));
  const txn = (req: Partial<TxnRequest>): Promise<TxnResponse> =>
    new Promise((resolve, reject) => kv.txn(TxnRequest.fromPartial(req), (e, r) => (e ? reject(e) : resolve(r))));
  const failure = async (p: Promise<unknown>): Promise<{ code: number; details: string }> => {
    const e = (await p.then(() => null, (err: ServiceError) => err)) as ServiceError | null;
    if (e === null) throw new Error('expected the call to fail');
    return { code: e.code, details: e.details };
  };

  it('applies a write resent with the same raftkv-request-id once, and refuses a malformed id', async () => {
    const md = new Metadata();
    md.set('raftkv-request-id', 'test-client/7');
    const putWith = (m: Metadata, value: string): Promise<PutResponse> =>
      new Promise((resolve, reject) => kv.put({ key: B('dedupe'), value: B(value), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false }, m, (e, r) => (e ? reject(e) : resolve(r))));
    const first = await putWith(md, 'one');
    const again = await putWith(md, 'two'); // a resend after an unknown outcome: answered from the dedupe table
    expect(again.header?.revision).toBe(first.header?.revision);
    const now = await range({ key: B('dedupe') });
    expect(now.kvs.map((k) => [k.value.toString(), k.version])).toEqual([['one', 1]]);
    const bad = new Metadata();
    bad.set('raftkv-request-id', 'no-seq');
    expect(await failure(putWith(bad, 'x'))).toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('answers bad requests with etcd codes and texts', async () => {
    expect(await failure(put('', 'x'))).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' });
    expect(await failure(put('k', 'x', { lease: 7 }))).toEqual({ code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    expect(await failure(put('k', 'x', { ignoreValue: true }))).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: value is provided' });
    const dup = { success: [1, 2].map(() => ({ request: { $case: 'requestPut' as const, requestPut: { key: B('d'), value: B('v'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } } })) };
    expect(await failure(txn(dup))).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' });
    const many = { success: Array.from({ length: 129 }, (_, i) => ({ request: { $case: 'requestPut' as const, requestPut: { key: B(`m${i}`), value: B('v'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } } })) };
    expect(await failure(txn(many))).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: too many operations in txn request' });
    expect(await failure(range({ key: B('') }))).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' });
  });

  it('reads the range_end forms, count_only and revision filters', async () => {
    for (const k of ['r/a', 'r/b', 'r/c', 's/a']) await put(k, k);
    const fromKey = await range({ key: B('r/b'), rangeEnd: Buffer.of(0) });
    expect(fromKey.kvs.map((k) => k.key.toString())).toEqual(['r/b', 'r/c', 's/a']);
    const all = await range({ key: Buffer.of(0), rangeEnd: Buffer.of(0), countOnly: true });
    expect(all.kvs).toEqual([]);
    expect(all.count).toBeGreaterThanOrEqual(4);
    const empty = await range({ key: B('r/c'), rangeEnd: B('r/a') });
    expect([empty.kvs.length, empty.count]).toEqual([0, 0]);
    const rb = (await range({ key: B('r/b') })).kvs[0]!;
    const newer = await range({ key: B('r/'), rangeEnd: B('r0'), minModRevision: rb.modRevision });
    expect(newer.kvs.map((k) => k.key.toString())).toEqual(['r/b', 'r/c']);
    expect(newer.count).toBe(3); // count ignores the filters, as etcd's does
    const older = await range({ key: B('r/'), rangeEnd: B('r0'), maxCreateRevision: rb.createRevision - 1 });
    expect(older.kvs.map((k) => k.key.toString())).toEqual(['r/a']);
  });

  it('compares version, create and mod revisions in a txn', async () => {
    const cur = (await range({ key: B('r/a') })).kvs[0]!;
    const cmp = (target: Compare_CompareTarget, union: NonNullable<TxnRequest['compare'][number]['targetUnion']>) => ({ result: Compare_CompareResult.Equal, target, key: B('r/a'), targetUnion: union, rangeEnd: Buffer.alloc(0) });
    const ok = await txn({
      compare: [cmp(Compare_CompareTarget.Version, { $case: 'version', version: cur.version }), cmp(Compare_CompareTarget.Mod, { $case: 'modRevision', modRevision: cur.modRevision }), cmp(Compare_CompareTarget.Create, { $case: 'createRevision', createRevision: cur.createRevision })],
      success: [{ request: { $case: 'requestRange', requestRange: RangeRequest.fromPartial({ key: B('r/a') }) } }],
    });
    expect(ok.succeeded).toBe(true);
    expect(ok.responses[0]?.response?.$case).toBe('responseRange');
    const missing = await txn({ compare: [{ result: Compare_CompareResult.Equal, target: Compare_CompareTarget.Create, key: B('nope'), targetUnion: { $case: 'createRevision', createRevision: 0 }, rangeEnd: Buffer.alloc(0) }] });
    expect(missing.succeeded).toBe(true); // a missing key has create_revision 0

    // Over a range_end every key must hold; "\0" means every key from key on; lease 0 = no lease.
    const over = (rangeEnd: Buffer, target: Compare_CompareTarget, union: NonNullable<TxnRequest['compare'][number]['targetUnion']>) =>
      txn({ compare: [{ result: Compare_CompareResult.Greater, target, key: B('r/'), targetUnion: union, rangeEnd }] });
    expect((await over(B('r0'), Compare_CompareTarget.Create, { $case: 'createRevision', createRevision: 0 })).succeeded).toBe(true);
    expect((await over(B('r0'), Compare_CompareTarget.Mod, { $case: 'modRevision', modRevision: cur.modRevision })).succeeded).toBe(false);
    expect((await over(Buffer.of(0), Compare_CompareTarget.Version, { $case: 'version', version: 0 })).succeeded).toBe(true);
    const noLease = await txn({ compare: [{ result: Compare_CompareResult.Equal, target: Compare_CompareTarget.Lease, key: B('r/a'), targetUnion: { $case: 'lease', lease: 0 }, rangeEnd: Buffer.alloc(0) }] });
    expect(noLease.succeeded).toBe(true);

    // Nested txns: the inner compare sees the state before the outer txn; inner responses nest.
    const put = (key: string, value: string) => ({ request: { $case: 'requestPut' as const, requestPut: { key: B(key), value: B(value), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } } });
    const inner = TxnRequest.fromPartial({ compare: [cmp(Compare_CompareTarget.Version, { $case: 'version', version: cur.version })], success: [put('nested/then', 'y')], failure: [put('nested/else', 'y')] });
    const outer = await txn({ success: [put('r/a', 'changed'), { request: { $case: 'requestTxn', requestTxn: inner } }] });
    expect(outer.succeeded).toBe(true);
    const nested = outer.responses[1]?.response;
    expect(nested?.$case === 'responseTxn' && nested.responseTxn.succeeded).toBe(true);
    expect(nested?.$case === 'responseTxn' && nested.responseTxn.responses[0]?.response?.$case).toBe('responsePut');
    expect((await range({ key: B('nested/then') })).kvs).toHaveLength(1);
    // then and else of a nested txn may put the same key; the enclosing branch may not.
    const dupe = await failure(txn({ success: [put('d2', '1'), { request: { $case: 'requestTxn', requestTxn: TxnRequest.fromPartial({ success: [put('d2', '2')] }) } }] }));
    expect(dupe).toEqual({ code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' });
  });

  it('answers lease calls as etcd: chosen ids, duplicates, unknown ids, ids beyond 2^53, min TTL', async () => {
    const lease = new LeaseClient(c.node(1).grpcAddr, credentials.createInsecure());
    try {
      const call = <Res>(f: (cb: (e: ServiceError | null, r: Res) => void) => unknown): Promise<Res> =>
        new Promise((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r))));
      const granted = await call<LeaseGrantResponse>((cb) => lease.leaseGrant({ TTL: 1, ID: 0x1234 }, cb));
      expect(granted.ID).toBe(0x1234);
      expect(granted.TTL).toBeGreaterThanOrEqual(1); // raised to the cluster's minimum
      expect(await failure(call<LeaseGrantResponse>((cb) => lease.leaseGrant({ TTL: 10, ID: 0x1234 }, cb)))).toEqual({ code: status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists' });
      const big = await failure(call<LeaseGrantResponse>((cb) => lease.leaseGrant({ TTL: 10, ID: 2 ** 60 }, cb)));
      expect(big.code).toBe(status.INVALID_ARGUMENT);
      expect(big.details).toContain('9007199254740991 (lease ids included)');
      const unknown = await call<LeaseTimeToLiveResponse>((cb) => lease.leaseTimeToLive({ ID: 0x9999, keys: true }, cb));
      expect({ TTL: unknown.TTL, grantedTTL: unknown.grantedTTL }).toEqual({ TTL: -1, grantedTTL: 0 });
      expect(await failure(call<LeaseRevokeResponse>((cb) => lease.leaseRevoke({ ID: 0x9999 }, cb)))).toEqual({ code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
      expect((await call<LeaseLeasesResponse>((cb) => lease.leaseLeases({}, cb))).leases.map((l) => l.ID)).toContain(0x1234);

      const stream: ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> = lease.leaseKeepAlive();
      const answers: LeaseKeepAliveResponse[] = [];
      stream.on('data', (r: LeaseKeepAliveResponse) => answers.push(r));
      stream.write({ ID: 0x1234 });
      stream.write({ ID: 0x9999 }); // unknown: TTL 0, no error
      await c.waitFor(() => answers.length === 2, 10_000, 'two keep-alive answers');
      expect(answers.map((a) => [a.ID, a.TTL])).toEqual([[0x1234, granted.TTL], [0x9999, 0]]);
      stream.end();
      await call<LeaseRevokeResponse>((cb) => lease.leaseRevoke({ ID: 0x1234 }, cb));
    } finally {
      lease.close();
    }
  });

  it('serves many watches on one stream: ids, filters, cancel and progress', async () => {
    const stream: ClientDuplexStream<WatchRequest, WatchResponse> = watch.watch();
    const got: WatchResponse[] = [];
    stream.on('data', (r: WatchResponse) => got.push(r));
    stream.on('error', () => undefined);
    const until = (pred: () => boolean): Promise<void> => c.waitFor(pred, 10_000, `watch responses; got ${JSON.stringify(got.map((r) => ({ id: r.watchId, created: r.created, canceled: r.canceled, events: r.events.length })))}`);
    const create = (key: string, extra: Record<string, unknown> = {}): void => {
      stream.write({ requestUnion: { $case: 'createRequest', createRequest: { key: B(key), rangeEnd: Buffer.alloc(0), startRevision: 0, progressNotify: false, filters: [], prevKv: false, watchId: 0, fragment: false, ...extra } } });
    };
    create('w/a');
    create('w/', { rangeEnd: B('w0'), filters: [WatchCreateRequest_FilterType.Noput] });
    create('w/b', { watchId: 7 });
    create('w/c', { watchId: 7 });
    await until(() => got.filter((r) => r.created).length === 4);
    const created = got.filter((r) => r.created).map((r) => [r.watchId, r.canceled]);
    expect(created).toEqual([[0, false], [1, false], [7, false], [-1, true]]);
    expect(got.find((r) => r.watchId === -1)?.cancelReason).toBe('mvcc: duplicate watch ID provided on the WatchStream');

    await put('w/a', '1');
    await put('w/b', '2');
    await new Promise((resolve, reject) => kv.deleteRange({ key: B('w/a'), rangeEnd: Buffer.alloc(0), prevKv: false }, (e, r) => (e ? reject(e) : resolve(r))));
    await until(() => got.some((r) => r.watchId === 1 && r.events.length > 0) && got.filter((r) => r.watchId === 0 && r.events.length > 0).length === 2);
    const events = (id: number): string[] => got.filter((r) => r.watchId === id).flatMap((r) => r.events.map((e) => `${e.type}:${e.kv?.key.toString()}`));
    expect(events(0)).toEqual(['0:w/a', '1:w/a']);
    expect(events(1)).toEqual(['1:w/a']); // NOPUT
    expect(events(7)).toEqual(['0:w/b']);

    stream.write({ requestUnion: { $case: 'cancelRequest', cancelRequest: { watchId: 0 } } });
    await until(() => got.some((r) => r.watchId === 0 && r.canceled));
    stream.write({ requestUnion: { $case: 'progressRequest', progressRequest: {} } });
    await until(() => got.some((r) => r.watchId === -1 && !r.created));
    const progress = got.filter((r) => r.watchId === -1 && !r.created).at(-1)!;
    expect(progress.header?.revision).toBe((await range({ key: B('w/b') })).header?.revision);
    await put('w/a', '3'); // watch 0 is cancelled: nothing more for it
    await put('w/b', '4');
    await until(() => events(7).length === 2);
    expect(events(0)).toEqual(['0:w/a', '1:w/a']);
    stream.end();
  });
});
