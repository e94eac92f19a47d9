/**
 * Per-method gRPC metrics on a real single-node server: calls are counted by method and final
 * status, timed per method, and a watch stream is counted when it ends.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Limits } from '../../src/common/limits.js';
import { KVClient, WatchRequest, type WatchResponse } from '../../src/gen/raftkv/v1/kv.js';
import { waitUntil } from '../node/cluster.js';
import { useSingleNode } from './single-node.js';
import { scrape, value, type Scrape } from './scrape.js';

const node = useSingleNode('raftkv-grpc-metrics-');

/** A series that has not been created yet reads as 0, so deltas work from a fresh node. */
const at = (s: Scrape, key: string): number => s.series.get(key) ?? 0;

const REQ = 'raftkv_grpc_requests_total';
const SECONDS = 'raftkv_grpc_request_duration_seconds';

describe('gRPC request metrics', () => {
  it('counts calls by method and status and times them per method', async () => {
    const addr = node.server().metricsAddress!;
    await waitUntil(async () => value(await scrape(addr), 'raftkv_raft_is_leader') === 1, 10_000, 'node 1 to lead');
    const before = await scrape(addr);
    expect(before.families.get(REQ)).toBe('counter');
    expect(before.families.get(SECONDS)).toBe('histogram');

    const puts = 3;
    for (let i = 0; i < puts; i++) await node.client().put(`g/${i}`, `v${i}`);
    await node.client().get('g/0');
    await node.client().get('g/1');
    // The client library refuses an oversized key before sending it; a raw call reaches the server.
    const raw = new KVClient(node.server().grpcAddress, credentials.createInsecure());
    try {
      const req = { key: Buffer.from('x'.repeat(Limits.keyBytesMax + 1)), value: Buffer.from('v'), prevKv: false };
      await expect(new Promise((resolve, reject) => raw.put(req, new Metadata(), (err, res) => (err ? reject(err) : resolve(res))))).rejects.toThrow(/INVALID_ARGUMENT|key/);
    } finally {
      raw.close();
    }

    // The server observes a call before it sends the status, so the client's answer implies the count.
    const after = await scrape(addr);
    const delta = (key: string): number => at(after, key) - at(before, key);
    expect(delta(`${REQ}{method="Put",code="OK"}`)).toBe(puts);
    expect(delta(`${REQ}{method="Put",code="INVALID_ARGUMENT"}`)).toBe(1);
    // The client reads through etcd's KV.Range.
    expect(delta(`${REQ}{method="Range",code="OK"}`)).toBe(2);
    expect(delta(`${SECONDS}_count{method="Put"}`)).toBe(puts + 1);
    expect(delta(`${SECONDS}_count{method="Range"}`)).toBe(2);
    expect(at(after, `${SECONDS}_bucket{le="+Inf",method="Put"}`)).toBe(at(after, `${SECONDS}_count{method="Put"}`));
    expect(delta(`${SECONDS}_sum{method="Put"}`)).toBeGreaterThan(0);
    expect(after.series.has(`raftkv_metrics_label_sets_dropped_total{metric="${REQ}"}`)).toBe(false);
  });

  it('counts a watch stream when it ends, with its lifetime', async () => {
    const addr = node.server().metricsAddress!;
    const key = `${REQ}{method="Watch",code="CANCELLED"}`;
    const before = at(await scrape(addr), key);
    // raftkv.v1's server-streaming Watch (etcd's Watch is bidirectional, which the wrapper does not observe).
    const raw = new KVClient(node.server().grpcAddress, credentials.createInsecure());
    const stream = raw.watch(WatchRequest.fromPartial({ key: Buffer.from('w') }));
    const ctl = { abort: (): void => stream.cancel() };
    let delivered = false;
    const consumer = (async () => {
      for await (const batch of stream as AsyncIterable<WatchResponse>) if (batch.events.length > 0) delivered = true;
    })().finally(() => raw.close());
    // However the client's iterator ends after the abort, the test only needs it to end.
    const ended = consumer.then(() => undefined, () => undefined);
    // The watch is open on the server once a put made after it reached the server is delivered.
    await waitUntil(async () => {
      await node.client().put('w', 'x');
      return delivered;
    }, 10_000, 'the watch to deliver a put');
    // Still open: not counted yet.
    expect(at(await scrape(addr), key)).toBe(before);
    ctl.abort();
    await ended;
    await waitUntil(async () => at(await scrape(addr), key) === before + 1, 10_000, 'the cancelled watch to be counted');
    const s = await scrape(addr);
    expect(at(s, `${SECONDS}_count{method="Watch"}`)).toBeGreaterThanOrEqual(1);
  });
});
