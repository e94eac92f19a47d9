/**
 * The cluster page's HTTP API on a real in-process node (startServer with httpAddr): JSON state,
 * the server-sent event stream, the key browser's paging and limits, and both listener modes
 * (sharing the metrics listener, and its own).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaftkvClient } from '../../src/client/index.js';
import { startServer, type ServerHandle } from '../../src/node/server.js';
import { KEYS_PAGE_MAX, PREFIX_BYTES_MAX, VALUE_PREVIEW_BYTES } from '../../src/ui/keys.js';
import { SSE_CLIENTS_MAX, type PageState } from '../../src/ui/page.js';
import { waitUntil } from '../node/cluster.js';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: RaftkvClient[] = [];

async function node(o: { metricsAddr?: string; httpAddr: string }): Promise<{ server: ServerHandle; client: RaftkvClient }> {
  const dir = await mkdtemp(join(tmpdir(), 'raftkv-ui-'));
  dirs.push(dir);
  const server = await startServer({ id: 1, raftAddr: '127.0.0.1:0', grpcAddr: '127.0.0.1:0', dataDir: dir, bootstrap: true, raft: { tickMs: 20, electionTicks: 10 }, drainGraceMs: 200, ...o });
  servers.push(server);
  const client = new RaftkvClient({ endpoints: [server.grpcAddress], defaultTimeoutMs: 5000 });
  clients.push(client);
  return { server, client };
}

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.stop()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function call(addr: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://${addr}${path}`, { method, signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

async function state(addr: string): Promise<PageState> {
  const r = await call(addr, '/api/state');
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as PageState;
}

/** Reads `count` `state` events from GET /api/events, then closes the stream. */
function readEvents(addr: string, count: number, onFirst?: () => void): Promise<PageState[]> {
  return new Promise((resolve, reject) => {
    const out: PageState[] = [];
    const req = get(`http://${addr}/api/events`, (res) => {
      if (res.statusCode !== 200 || res.headers['content-type'] !== 'text/event-stream') return reject(new Error(`status ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = /^data: (.*)$/m.exec(frame);
          if (!/^event: state$/m.test(frame) || !data) continue;
          out.push(JSON.parse(data[1]!) as PageState);
          if (out.length === 1) onFirst?.();
          if (out.length === count) {
            req.destroy();
            resolve(out);
          }
        }
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error('event stream timed out')));
    req.on('error', (e) => (out.length === count ? undefined : reject(e)));
  });
}

describe('cluster page sharing the metrics listener', () => {
  let server: ServerHandle;
  let client: RaftkvClient;
  let addr: string;
  beforeAll(async () => {
    ({ server, client } = await node({ metricsAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0' }));
    addr = server.httpAddress!;
    await waitUntil(async () => (await state(addr)).view?.node.role === 'leader', 10_000, 'node 1 to lead');
  });

  it('serves the page, its assets, /metrics and the JSON state from one address', async () => {
    expect(server.httpAddress).toBe(server.metricsAddress);
    const html = await call(addr, '/');
    expect([html.status, html.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(html.body).toContain('<script src="/app.js">');
    for (const p of ['/app.js', '/app.css', '/vendor/uPlot.iife.min.js', '/vendor/uPlot.min.css']) expect((await call(addr, p)).status).toBe(200);
    const metrics = await call(addr, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('\nraftkv_raft_is_leader 1\n');
    const s = await state(addr);
    expect(s.view!.node).toMatchObject({ id: 1, role: 'leader', leaderId: 1 });
    expect(s.view!.members).toEqual([expect.objectContaining({ id: 1, self: true, raftRole: 'leader', suffrage: 'voter', health: 'healthy', match: s.view!.node.lastLogIndex, lag: 0 })]);
    expect(s.view!.progressSource.kind).toBe('self');
    expect(s.progress.map((p) => p.id)).toEqual([1]);
    expect(s.events.some((e) => e.kind === 'leader' && e.text === `node 1 is leader (term ${s.view!.node.term})`)).toBe(true);
  });

  it('answers a malformed request target with 400 and keeps serving', async () => {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, host, () => sock.write('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let text = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => (text += d));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect((await call(addr, '/api/state')).status).toBe(200);
  });

  it('refuses writes and unknown paths', async () => {
    expect((await call(addr, '/api/state', 'POST')).status).toBe(405);
    expect((await call(addr, '/api/keys', 'DELETE')).status).toBe(405);
    expect((await call(addr, '/api/nope')).status).toBe(404);
    expect((await call(addr, '/nope')).status).toBe(404);
  });

  it('streams state over server-sent events, following writes without a new request', async () => {
    const before = (await state(addr)).view!.node.commitIndex;
    const events = await readEvents(addr, 3, () => void client.put('sse/a', '1'));
    expect(events[0]!.view!.node.id).toBe(1);
    expect(events[2]!.atMs).toBeGreaterThan(events[0]!.atMs);
    expect(events[2]!.view!.node.commitIndex).toBeGreaterThan(before);
    // The stream's updates carry request rates: the registry exists for the page even so.
    // Keep traffic going while waiting: on a loaded machine a single write can fall between rate samples.
    await waitUntil(async () => {
      await client.put('sse/b', '1');
      return (await state(addr)).rates.some((p) => (p.requestsPerSec ?? 0) > 0 && p.p99Ms !== null);
    }, 20_000, 'a rate point with requests');
  });

  it('pages through keys by prefix, bounded, with previews of long and binary values', async () => {
    for (let i = 0; i < KEYS_PAGE_MAX + 5; i++) await client.put(`kb/${String(i).padStart(3, '0')}`, `v${i}`);
    await client.put('kc/big', 'x'.repeat(VALUE_PREVIEW_BYTES + 100));
    await client.put('kc/bin', new Uint8Array([0, 1, 2, 255]));
    const page = async (q: string): Promise<{ status: number; body: { kvs: Array<{ key: string; value: string; valueBytes: number; truncated: boolean; binary: boolean }>; more: boolean; next: string; remaining: number; error?: string } }> => {
      const r = await call(addr, `/api/keys?${q}`);
      return { status: r.status, body: JSON.parse(r.body) };
    };
    const first = await page('prefix=kb/&limit=25');
    expect(first.body.kvs.map((k) => k.key).slice(0, 2)).toEqual(['kb/000', 'kb/001']);
    expect([first.body.kvs.length, first.body.more, first.body.remaining]).toEqual([25, true, KEYS_PAGE_MAX + 5]);
    const second = await page(`prefix=kb/&limit=25&after=${first.body.next}`);
    expect(second.body.kvs[0]!.key).toBe('kb/025');
    expect(second.body.remaining).toBe(KEYS_PAGE_MAX + 5 - 25);
    const capped = await page('prefix=kb/&limit=100000');
    expect([capped.body.kvs.length, capped.body.more]).toEqual([KEYS_PAGE_MAX, true]);
    const last = await page(`prefix=kb/&limit=100&after=${capped.body.next}`);
    expect([last.body.kvs.length, last.body.more, last.body.next]).toEqual([5, false, '']);
    const kc = await page('prefix=kc/');
    expect(kc.body.kvs).toEqual([
      expect.objectContaining({ key: 'kc/big', value: 'x'.repeat(VALUE_PREVIEW_BYTES), valueBytes: VALUE_PREVIEW_BYTES + 100, truncated: true, binary: false }),
      expect.objectContaining({ key: 'kc/bin', value: Buffer.from([0, 1, 2, 255]).toString('base64'), valueBytes: 4, truncated: false, binary: true }),
    ]);
    expect((await page('prefix=nothing-here/')).body).toMatchObject({ kvs: [], more: false, remaining: 0 });
  });

  it.each([
    ['limit=0', /limit must be a positive integer/],
    ['limit=abc', /limit must be a positive integer/],
    ['after=not%20a%20cursor', /after must be the `next` cursor/],
    [`prefix=${'p'.repeat(PREFIX_BYTES_MAX + 1)}`, /prefix is \d+ bytes/],
  ])('answers 400 with the reason for %s', async (q, why) => {
    const r = await call(addr, `/api/keys?${q}`);
    expect(r.status).toBe(400);
    expect((JSON.parse(r.body) as { error: string }).error).toMatch(why);
  });
});

describe('cluster page on its own listener', () => {
  it('serves the page without a metrics endpoint, and stop() closes it', async () => {
    const { server } = await node({ httpAddr: '127.0.0.1:0' });
    expect(server.metricsAddress).toBeNull();
    const addr = server.httpAddress!;
    expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await call(addr, '/')).status).toBe(200);
    expect((await call(addr, '/metrics')).status).toBe(404);
    await waitUntil(async () => (await state(addr)).view?.node.role === 'leader', 10_000, 'node 1 to lead');
    // Open pages are bounded: one stream beyond SSE_CLIENTS_MAX is refused, and a closed one frees its place.
    const streams: AbortController[] = [];
    const open = async (): Promise<number> => {
      const ac = new AbortController();
      streams.push(ac);
      const res = await fetch(`http://${addr}/api/events`, { signal: ac.signal });
      // Read what arrives: a page that stops reading is dropped once its buffer is full, which frees a place.
      void res.body?.pipeTo(new WritableStream()).catch(() => undefined);
      return res.status;
    };
    for (let i = 0; i < SSE_CLIENTS_MAX; i++) expect(await open()).toBe(200);
    expect(await open()).toBe(503);
    streams.shift()!.abort();
    await waitUntil(async () => (await open()) === 200, 5_000, 'a closed stream to free its place');
    for (const ac of streams) ac.abort();
    await server.stop();
    await expect(call(addr, '/')).rejects.toThrow();
  });
});
