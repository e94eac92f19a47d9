import { connect as netConnect, createServer as netCreateServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer, type TLSSocket } from 'node:tls';
import type { PeerRefusals, TlsFiles } from '../tls/index.js';
import type { HostPort } from './address.js';

/**
 * Peer TLS for the raft port (`--peer_cert_file` and friends). With `requireClientCert` an inbound
 * connection without a certificate from the peer CA fails the handshake before a single frame is
 * read, so it can never deliver a raft message. Refusals are counted and logged once per source.
 */
export interface RaftTls {
  /** This node's peer certificate and key, and the peer CA it trusts. */
  readonly files: TlsFiles;
  readonly requireClientCert: boolean;
  readonly refusals: PeerRefusals;
}

/** A dialed socket and the event after which frames may be written (the TLS handshake, with TLS). */
export interface DialedSocket {
  readonly socket: Socket;
  readonly readyEvent: 'connect' | 'secureConnect';
}

/** A listening server that hands `onSocket` only connections that passed the TLS handshake, if any. */
export function createRaftServer(tls: RaftTls | undefined, onSocket: (socket: Socket) => void): Server {
  if (tls === undefined) return netCreateServer({ noDelay: true, keepAlive: true }, onSocket);
  const server = tlsCreateServer({ ...tls.files.contextOptions(), requestCert: true, rejectUnauthorized: tls.requireClientCert, noDelay: true, keepAlive: true }, onSocket);
  server.on('tlsClientError', (err, socket: TLSSocket) => tls.refusals.refuse('raft_inbound', `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`, err.message));
  const stop = tls.files.onChange(() => server.setSecureContext(tls.files.contextOptions()));
  server.once('close', stop);
  return server;
}

/** Dials a peer; with TLS the peer's certificate must come from the peer CA and name the host dialed. */
export function dialRaftPeer(target: HostPort, tls: RaftTls | undefined, keepAlive: boolean): DialedSocket {
  if (tls === undefined) return { socket: netConnect({ host: target.host, port: target.port, noDelay: true, keepAlive }), readyEvent: 'connect' };
  const socket = tlsConnect({ host: target.host, port: target.port, secureContext: tls.files.secureContext() });
  socket.setNoDelay(true);
  if (keepAlive) socket.setKeepAlive(true);
  let tcpUp = false;
  let secure = false;
  socket.once('connect', () => (tcpUp = true));
  socket.once('secureConnect', () => (secure = true));
  socket.on('error', (err: Error) => {
    // A TCP connection that failed its handshake: the peer refused our certificate or we refused its.
    if (tcpUp && !secure) tls.refusals.refuse('raft_outbound', `${target.host}:${target.port}`, err.message);
  });
  return { socket, readyEvent: 'secureConnect' };
}
