import { parseHostPort, type HostPort } from '../common/host-port.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { ErrorCode, RaftkvError } from '../common/errors.js';

/** Bounds a client that sends its request slowly. */
export const UI_REQUEST_TIMEOUT_MS = 10_000;
export const UI_HEADER_BYTES_MAX = 16 * 1024;
/** Concurrent connections: a few per open tab (the event stream plus fetches). */
export const UI_CONNECTIONS_MAX = 64;
/** How long close() lets responses finish before it cuts connections (event streams never finish). */
export const UI_CLOSE_GRACE_MS = 500;

export class HttpListenError extends RaftkvError {
  override readonly name = 'HttpListenError';
  constructor(addr: string, cause: unknown) {
    super(ErrorCode.Unavailable, `cluster page could not listen on ${addr}: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
}

export interface UiHttpServer {
  readonly address: string;
  close(): Promise<void>;
}

/** A listener for the cluster page alone (when --http_addr differs from --metrics_addr). */
/** HTTPS for the page: the certificate follows reloads; with requireClientCert, clients without one from the CAs are refused. */
export interface UiTls {
  contextOptions(): SecureContextOptions;
  onChange(listener: () => void): () => void;
  readonly requireClientCert: boolean;
}

export async function startUiHttpServer(addr: string, route: (req: IncomingMessage, res: ServerResponse) => boolean, tls?: UiTls): Promise<UiHttpServer> {
  const { host, port } = listenAddress(addr);
  const options = { maxHeaderSize: UI_HEADER_BYTES_MAX, requestTimeout: UI_REQUEST_TIMEOUT_MS, headersTimeout: UI_REQUEST_TIMEOUT_MS };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (route(req, res)) return;
    const text = 'not found; the cluster page is at /\n';
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const clientAuth = tls?.requireClientCert ? { requestCert: true, rejectUnauthorized: true } : {};
  const server: Server = tls ? createHttpsServer({ ...options, ...tls.contextOptions(), ...clientAuth }, onRequest) : createServer(options, onRequest);
  if (tls) {
    const https = server as ReturnType<typeof createHttpsServer>;
    server.once('close', tls.onChange(() => https.setSecureContext(tls.contextOptions())));
  }
  server.maxConnections = UI_CONNECTIONS_MAX;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new HttpListenError(addr, err));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const b = server.address() as { address: string; port: number; family: string };
  let closing: Promise<void> | null = null;
  return { address: b.family === 'IPv6' ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`, close: () => (closing ??= drain(server)) };
}

async function drain(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), UI_CLOSE_GRACE_MS);
  await closed;
  clearTimeout(timer);
}

function listenAddress(addr: string): HostPort {
  try {
    return parseHostPort(addr, { portZero: true });
  } catch (err) {
    throw new HttpListenError(addr, err);
  }
}
