import type { ServerCredentials} from '@grpc/grpc-js';
import {
  experimental, ServerInterceptingCall, ServerListenerBuilder, status, type ChannelCredentials, type ServerInterceptor,
} from '@grpc/grpc-js';
import { issuedByOneOf, type TlsFiles, type TlsMaterial } from './files.js';
import type { PeerRefusals } from './refusals.js';

type Provider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/**
 * grpc-js's CertificateProvider interface fed from a TlsFiles: grpc-js calls setSecureContext on its
 * listening server (and uses the new material for new channels) whenever the files are reloaded, so a
 * certificate rotation needs no restart and drops no connection. grpc-js's own
 * FileWatcherCertificateProvider only polls on a timer; this one also follows SIGHUP.
 */
export class TlsFilesCertificateProvider implements Provider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly stop: () => void;

  constructor(private readonly files: TlsFiles) {
    this.stop = files.onChange((m) => this.publish(m));
  }

  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    // grpc-js registers its own watcher after adding ours: answer on the next tick, as its providers do.
    const ca = this.files.material.ca;
    process.nextTick(l, ca ? { caCertificate: ca } : null);
  }

  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }

  addIdentityCertificateListener(l: IdentityListener): void {
    this.identityListeners.add(l);
    const m = this.files.material;
    process.nextTick(l, { certificate: m.cert, privateKey: m.key });
  }

  removeIdentityCertificateListener(l: IdentityListener): void {
    this.identityListeners.delete(l);
  }

  close(): void {
    this.stop();
  }

  private publish(m: TlsMaterial): void {
    for (const l of this.identityListeners) l({ certificate: m.cert, privateKey: m.key });
    for (const l of this.caListeners) l(m.ca ? { caCertificate: m.ca } : null);
  }
}

export interface GrpcServerTls {
  /** The client port's certificate and key; its CAs (trusted_ca_file, and the peer CA) verify client certificates. */
  readonly files: TlsFiles;
  /** --client_cert_auth: refuse a client without a certificate from a trusted CA at the handshake. */
  readonly requireClientCert: boolean;
  /**
   * With peer TLS: a call marked as forwarded by a member (metadata `header`) must come with a
   * certificate from one of these CAs, else it is refused with UNAUTHENTICATED and counted.
   */
  readonly forwarded?: { readonly header: string; readonly peerFiles: TlsFiles; readonly refusals: PeerRefusals };
}

/** Secure server credentials that follow reloads of `tls.files`. */
export function grpcServerCredentials(tls: GrpcServerTls): { credentials: ServerCredentials; close: () => void } {
  const provider = new TlsFilesCertificateProvider(tls.files);
  const hasCa = tls.files.material.ca !== null;
  // grpc-js names the first argument caCertificateProvider but uses it for the identity (1.14).
  let credentials: ServerCredentials = experimental.createCertificateProviderServerCredentials(provider, hasCa ? provider : null, tls.requireClientCert);
  if (tls.forwarded) credentials = experimental.createServerCredentialsWithInterceptors(credentials, [forwardedCallGuard(tls.forwarded)]);
  return { credentials, close: () => provider.close() };
}

/** Client credentials for member-to-member calls: present `files`' certificate, trust its CAs. */
export function grpcChannelCredentials(files: TlsFiles): { credentials: ChannelCredentials; close: () => void } {
  const provider = new TlsFilesCertificateProvider(files);
  return { credentials: experimental.createCertificateProviderChannelCredentials(provider, provider), close: () => provider.close() };
}

function forwardedCallGuard(f: NonNullable<GrpcServerTls['forwarded']>): ServerInterceptor {
  return (_method, call) => new ServerInterceptingCall(call, {
    start: (next) => {
      next(new ServerListenerBuilder().withOnReceiveMetadata((md, pass) => {
        if (md.get(f.header).length === 0) return pass(md);
        const cert = call.getAuthContext().sslPeerCertificate;
        if (cert?.raw !== undefined && issuedByOneOf(cert.raw, f.peerFiles.material.caCerts)) return pass(md);
        const info = call.getConnectionInfo();
        f.refusals.refuse('forward', `${info.remoteAddress ?? '?'}:${info.remotePort ?? 0}`, cert ? 'certificate not from the peer CA' : 'no verified client certificate');
        call.sendStatus({ code: status.UNAUTHENTICATED, details: 'a forwarded call needs a certificate from the peer CA' });
      }).build());
    },
  });
}
