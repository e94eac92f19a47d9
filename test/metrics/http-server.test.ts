import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsListenError } from '../../src/metrics/errors.js';
import { startMetricsServer, type MetricsServer } from '../../src/metrics/http-server.js';
import { Registry } from '../../src/metrics/registry.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(address: string, method: string, path: string): Promise<Reply> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(render: () => string | Promise<string>, extra: { requestTimeoutMs?: number; onError?: (e: unknown) => void } = {}): Promise<MetricsServer> {
  const s = await startMetricsServer({ addr: '127.0.0.1:0', render, ...extra });
  servers.push(s);
  return s;
}

describe('metrics HTTP server', () => {
  it('serves GET /metrics as text format 0.0.4', async () => {
    const r = new Registry();
    r.counter({ name: 'hits_total', help: 'Hits.' }).inc(3);
    const s = await start(() => r.exposition());
    expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const res = await call(s.address, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toContain('# TYPE hits_total counter\nhits_total 3\n');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    expect((await call(s.address, 'GET', '/metrics?debug=1')).status).toBe(200);
  });

  it.each([
    ['GET', '/', 404],
    ['GET', '/metrics/', 404],
    ['GET', '/favicon.ico', 404],
    ['POST', '/metrics', 405],
    ['PUT', '/metrics', 405],
    ['DELETE', '/metrics', 405],
    ['HEAD', '/metrics', 405],
  ])('%s %s answers %d', async (method, path, status) => {
    const s = await start(() => 'x 1\n');
    const res = await call(s.address, method, path);
    expect(res.status).toBe(status);
    if (status === 405) expect(res.headers['allow']).toBe('GET');
  });

  it('answers 500 when rendering throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const s = await start(() => { throw new Error('boom'); }, { onError: (e) => errors.push(e) });
    expect((await call(s.address, 'GET', '/metrics')).status).toBe(500);
    expect(errors).toHaveLength(1);
  });

  it('fails to listen on a taken port with MetricsListenError', async () => {
    const s = await start(() => '');
    await expect(startMetricsServer({ addr: s.address, render: () => '' })).rejects.toThrow(MetricsListenError);
    await expect(startMetricsServer({ addr: 'nohost', render: () => '' })).rejects.toThrow(MetricsListenError);
  });

  it('cuts a client that never finishes its request after the request timeout', async () => {
    const s = await start(() => '', { requestTimeoutMs: 300 });
    const port = Number(s.address.split(':')[1]);
    const sock = connect(port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // headers never end
    const t0 = Date.now();
    await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    // Node checks request timeouts on an interval, so allow it a few seconds, not the whole test timeout.
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('close() stops accepting, closes kept-alive connections, and is idempotent', async () => {
    const s = await start(() => 'x 1\n');
    const port = Number(s.address.split(':')[1]);
    // A kept-alive connection that has finished one request stays open until close().
    const sock = connect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('error', () => undefined);
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('no response')), 5000);
      sock.on('data', () => {
        if (got.includes('x 1\n')) {
          clearTimeout(deadline);
          resolve();
        }
      });
    });
    const t0 = Date.now();
    await Promise.all([s.close(), s.close()]);
    expect(Date.now() - t0).toBeLessThan(1_000); // idle connections do not wait for the grace period
    await closed;
    await expect(call(s.address, 'GET', '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });
});
