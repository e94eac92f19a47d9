import { parseHostPort, type HostPort } from '../common/host-port.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { MetricsListenError } from './errors.js';
import { CONTENT_TYPE } from './registry.js';

/** Bounds a client that sends its request slowly (and a response it stops reading). */
export const METRICS_REQUEST_TIMEOUT_MS = 5_000;
/** Request line and headers; a scraper sends a few hundred bytes. */
export const METRICS_HEADER_BYTES_MAX = 8 * 1024;
/** Concurrent connections; Prometheus uses one per target. */
export const METRICS_CONNECTIONS_MAX = 16;
/** Idle keep-alive connections are closed after this long. */
export const METRICS_KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** How long close() lets in-flight responses finish before it cuts connections. */
export const METRICS_CLOSE_GRACE_MS_DEFAULT = 1_000;

export interface MetricsServerOptions {
  /** host:port; port 0 picks a free one (see `address`). */
  readonly addr: string;
  /** The exposition body, rendered on every GET /metrics. */
  readonly render: () => string | Promise<string>;
  /** Called when render() throws; the scrape answers 500. */
  readonly onError?: (err: unknown) => void;
  readonly requestTimeoutMs?: number;
  /**
   * Other paths on the same listener (the cluster page when --http_addr equals --metrics_addr):
   * returns true when it answered the request, false to fall through to 404.
   */
  readonly extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** HTTPS (--metrics_cert_file/--metrics_key_file); the certificate follows reloads through onChange. */
  readonly tls?: MetricsTls;
}

export interface MetricsTls {
  contextOptions(): SecureContextOptions;
  onChange(listener: () => void): () => void;
}

export interface MetricsServer {
  /** The bound host:port. */
  readonly address: string;
  /** Stop accepting, let in-flight responses finish within `graceMs`, then cut the rest. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

/** GET /metrics answers the exposition; other paths 404, other methods 405. Nothing else. */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = splitHostPort(o.addr);
  const timeoutMs = o.requestTimeoutMs ?? METRICS_REQUEST_TIMEOUT_MS;
  const serverOptions = { maxHeaderSize: METRICS_HEADER_BYTES_MAX, requestTimeout: timeoutMs, headersTimeout: timeoutMs, keepAliveTimeout: METRICS_KEEP_ALIVE_TIMEOUT_MS };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => void handle(o, req, res);
  const tls = o.tls;
  const server: Server = tls ? createHttpsServer({ ...serverOptions, ...tls.contextOptions() }, onRequest) : createServer(serverOptions, onRequest);
  if (tls) {
    const https = server as ReturnType<typeof createHttpsServer>;
    server.once('close', tls.onChange(() => https.setSecureContext(tls.contextOptions())));
  }
  server.maxConnections = METRICS_CONNECTIONS_MAX;
  // A connection that stops reading our response is cut after the same time.
  server.setTimeout(timeoutMs, (socket) => socket.destroy());
  await listen(server, host, port, o.addr);
  const bound = server.address() as { address: string; port: number; family: string };
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  let closing: Promise<void> | null = null;
  return { address, close: (graceMs = METRICS_CLOSE_GRACE_MS_DEFAULT) => (closing ??= drain(server, graceMs)) };
}

async function handle(o: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '').split('?', 1)[0];
  if (path !== '/metrics' && o.extraRoutes?.(req, res)) return;
  if (path !== '/metrics') return plain(res, 404, 'not found; metrics are at /metrics\n');
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return plain(res, 405, 'method not allowed; use GET\n');
  }
  let body: string;
  try {
    body = await o.render();
  } catch (err) {
    o.onError?.(err);
    return plain(res, 500, 'metrics could not be collected\n');
  }
  res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function plain(res: ServerResponse, status: number, text: string): void {
  // Close: a refused request may carry a body we will not read.
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
  res.end(text);
}

function splitHostPort(addr: string): HostPort {
  try {
    return parseHostPort(addr, { portZero: true });
  } catch (cause) {
    throw new MetricsListenError(addr, { cause });
  }
}

function listen(server: Server, host: string, port: number, addr: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new MetricsListenError(addr, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function drain(server: Server, graceMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  await Promise.race([closed, cut]);
  clearTimeout(timer);
  await closed;
}
