import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { GrpcTlsSetup } from '../service/grpc-server.js';
import { FORWARDED_HEADER } from '../service/forward.js';
import type { RaftTls } from '../transport/raft/secure.js';
import { grpcChannelCredentials, grpcServerCredentials } from '../transport/tls/grpc.js';
import { PeerRefusals, TlsFiles, type RefusalCounts } from '../transport/tls/index.js';

/** etcd's TLS flags, per port. Paths are PEM files; every part reloads on SIGHUP and on file change. */
export interface NodeTlsOptions {
  /** --cert_file, --key_file, --trusted_ca_file, --client_cert_auth: the client gRPC port. */
  readonly client?: { readonly certFile: string; readonly keyFile: string; readonly trustedCaFile?: string; readonly clientCertAuth: boolean };
  /** --peer_cert_file, --peer_key_file, --peer_trusted_ca_file, --peer_client_cert_auth: raft and forwarding. */
  readonly peer?: { readonly certFile: string; readonly keyFile: string; readonly trustedCaFile: string; readonly clientCertAuth: boolean };
  /** --metrics_cert_file, --metrics_key_file: HTTPS for GET /metrics. */
  readonly metrics?: { readonly certFile: string; readonly keyFile: string };
  /** Poll the files for changes (default true); SIGHUP reloads either way. */
  readonly watchFiles?: boolean;
}

/**
 * Every TLS part of one node, built from the flags: what the raft transport, the gRPC server, the
 * forwarder and the metrics endpoint are given, and one reload() for SIGHUP.
 */
export class NodeTls {
  readonly refusals: PeerRefusals;
  readonly raft: RaftTls | undefined;
  readonly grpc: GrpcTlsSetup;
  readonly metrics: TlsFiles | undefined;
  /**
   * The cluster page on its own listener (--http_addr): the client port's certificate and CAs, and
   * with --client_cert_auth it asks for a client certificate too: its key browser reads every key.
   */
  page: { readonly files: TlsFiles; readonly requireClientCert: boolean } | undefined;
  private readonly all = new Map<string, TlsFiles>();
  private readonly closers: Array<() => void> = [];

  constructor(o: NodeTlsOptions, private readonly log: Logger) {
    this.refusals = new PeerRefusals((fields, msg) => log.warn(fields, msg));
    const peer = o.peer ? this.files('peer', o.peer.certFile, o.peer.keyFile, [o.peer.trustedCaFile]) : undefined;
    this.raft = peer && o.peer ? { files: peer, requireClientCert: o.peer.clientCertAuth, refusals: this.refusals } : undefined;
    this.metrics = o.metrics ? this.files('metrics', o.metrics.certFile, o.metrics.keyFile, []) : undefined;
    this.grpc = this.grpcSetup(o);
    if (o.peer && !o.peer.clientCertAuth) log.warn('peer TLS without --peer_client_cert_auth: any process that can reach the raft port may send raft messages');
    if (o.peer && !o.client) log.warn('peer TLS without client TLS: calls forwarded to the leader travel in plaintext on its client port');
    if (o.watchFiles ?? true) for (const [name, f] of this.all) f.watch((err) => log.error({ err, tls: name }, 'TLS files changed but could not be loaded; keeping the previous certificate'));
  }

  /** Re-reads every certificate, key and CA (SIGHUP). A part that fails keeps its old material. */
  reload(): { reloaded: string[]; failed: string[] } {
    const out = { reloaded: [] as string[], failed: [] as string[] };
    for (const [name, f] of this.all) {
      try {
        if (f.reload()) out.reloaded.push(name);
      } catch (err) {
        out.failed.push(name);
        this.log.error({ err, tls: name }, 'TLS reload failed; keeping the previous certificate');
      }
    }
    this.log.info(out, 'TLS certificates reloaded');
    return out;
  }

  refusalCounts(): RefusalCounts {
    return this.refusals.snapshot();
  }

  close(): void {
    for (const f of this.all.values()) f.close();
    for (const c of this.closers) c();
  }

  private files(name: string, certFile: string, keyFile: string, caFiles: string[]): TlsFiles {
    const f = new TlsFiles({ certFile, keyFile, caFiles });
    this.all.set(name, f);
    return f;
  }

  private grpcSetup(o: NodeTlsOptions): GrpcTlsSetup {
    if (!o.client) return {};
    const c = o.client;
    // The client port also trusts the peer CA, so a member's forwarder can present its peer certificate.
    const cas = [c.trustedCaFile, o.peer?.trustedCaFile].filter((x): x is string => x !== undefined);
    const clientFiles = this.files('client', c.certFile, c.keyFile, cas);
    this.page = { files: clientFiles, requireClientCert: c.clientCertAuth };
    const server = grpcServerCredentials({
      files: clientFiles,
      requireClientCert: c.clientCertAuth,
      ...(this.raft ? { forwarded: { header: FORWARDED_HEADER, peerFiles: this.raft.files, refusals: this.refusals } } : {}),
    });
    // Forwarding dials another member's client port: present the peer certificate (else this port's own),
    // and trust the CAs that sign the members' client-port certificates (else this port's own certificate).
    const id = o.peer ?? c;
    const forward = grpcChannelCredentials(this.files('forward', id.certFile, id.keyFile, cas.length > 0 ? cas : [c.certFile]));
    this.closers.push(server.close, forward.close);
    return { serverCredentials: server.credentials, forwardCredentials: forward.credentials };
  }
}

/**
 * One-shot credentials for `--join` (before the node runs): what the forwarder presents and trusts,
 * read once. Plaintext when the client port has no TLS.
 */
export function memberChannelCredentials(o: NodeTlsOptions | null): ChannelCredentials {
  if (!o?.client) return credentials.createInsecure();
  const c = o.client;
  const id = o.peer ?? c;
  const cas = [c.trustedCaFile, o.peer?.trustedCaFile].filter((x): x is string => x !== undefined);
  const ca = Buffer.concat((cas.length > 0 ? cas : [c.certFile]).map((f) => Buffer.concat([readFileSync(f), Buffer.from('\n')])));
  return credentials.createSsl(ca, readFileSync(id.keyFile), readFileSync(id.certFile));
}
