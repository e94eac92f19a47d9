import type { NodeTlsOptions } from '../node/tls-setup.js';
import type { FlagSpec, FlagValues } from './flags.js';
import { UsageError } from './flags.js';

/** etcd's TLS flags in this project's underscore style; each file is PEM and reloads on SIGHUP or change. */
export const TLS_FLAGS: readonly FlagSpec[] = [
  { name: 'cert_file', kind: 'string', default: '', help: 'TLS certificate of the client gRPC port; with it, plaintext clients are refused' },
  { name: 'key_file', kind: 'string', default: '', help: 'TLS key of the client gRPC port (with --cert_file)' },
  { name: 'trusted_ca_file', kind: 'string', default: '', help: 'CA bundle that client certificates must chain to (with --client_cert_auth)' },
  { name: 'client_cert_auth', kind: 'bool', default: false, help: 'refuse clients without a certificate from --trusted_ca_file' },
  { name: 'peer_cert_file', kind: 'string', default: '', help: 'TLS certificate for raft traffic and calls forwarded between members' },
  { name: 'peer_key_file', kind: 'string', default: '', help: 'TLS key for raft traffic and forwarding (with --peer_cert_file)' },
  { name: 'peer_trusted_ca_file', kind: 'string', default: '', help: 'CA bundle that other members\' peer certificates must chain to' },
  { name: 'peer_client_cert_auth', kind: 'bool', default: false, help: 'refuse raft connections and forwarded calls without a certificate from --peer_trusted_ca_file' },
  { name: 'metrics_cert_file', kind: 'string', default: '', help: 'TLS certificate for the metrics endpoint (HTTPS); needs --metrics_addr' },
  { name: 'metrics_key_file', kind: 'string', default: '', help: 'TLS key for the metrics endpoint (with --metrics_cert_file)' },
];

/** The TLS part of `raftkv serve`'s flags; null when no TLS flag is set. Throws UsageError on an incomplete set. */
export function tlsConfig(f: FlagValues): NodeTlsOptions | null {
  const str = (n: string): string => String(f.get(n) ?? '');
  const pair = (cert: string, key: string): { certFile: string; keyFile: string } | null => {
    if ((str(cert) === '') !== (str(key) === '')) throw new UsageError(`--${cert} and --${key} go together`);
    return str(cert) === '' ? null : { certFile: str(cert), keyFile: str(key) };
  };
  const client = pair('cert_file', 'key_file');
  const peer = pair('peer_cert_file', 'peer_key_file');
  const metrics = pair('metrics_cert_file', 'metrics_key_file');
  const clientCertAuth = f.get('client_cert_auth') === true;
  const peerClientCertAuth = f.get('peer_client_cert_auth') === true;
  if (!client && (str('trusted_ca_file') !== '' || clientCertAuth)) throw new UsageError('--trusted_ca_file and --client_cert_auth need --cert_file and --key_file');
  if (clientCertAuth && str('trusted_ca_file') === '') throw new UsageError('--client_cert_auth needs --trusted_ca_file (the CA that client certificates must chain to)');
  if (!peer && (str('peer_trusted_ca_file') !== '' || peerClientCertAuth)) throw new UsageError('--peer_trusted_ca_file and --peer_client_cert_auth need --peer_cert_file and --peer_key_file');
  if (peer && str('peer_trusted_ca_file') === '') throw new UsageError('--peer_cert_file needs --peer_trusted_ca_file (the CA that other members\' certificates chain to)');
  if (metrics && str('metrics_addr') === '') throw new UsageError('--metrics_cert_file needs --metrics_addr');
  if (!client && !peer && !metrics) return null;
  return {
    ...(client ? { client: { ...client, clientCertAuth, ...(str('trusted_ca_file') !== '' ? { trustedCaFile: str('trusted_ca_file') } : {}) } } : {}),
    ...(peer ? { peer: { ...peer, trustedCaFile: str('peer_trusted_ca_file'), clientCertAuth: peerClientCertAuth } } : {}),
    ...(metrics ? { metrics } : {}),
  };
}
