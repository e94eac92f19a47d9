import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../common/errors.js';

/** TLS to the cluster, as etcdctl's --cacert/--cert/--key: PEM contents. */
export interface ClientTls {
  /** CA bundle that verifies the servers' certificates; absent: the system's roots. */
  readonly ca?: Buffer;
  /** A client certificate and its key, for servers started with --client_cert_auth. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export function channelCredentials(tls: ClientTls | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new InvalidArgumentError('a client certificate needs its key, and a key its certificate');
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** Reads `--cacert`/`--cert`/`--key` paths; undefined when none is given (plaintext). */
export function readClientTls(paths: { readonly cacert?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined }): ClientTls | undefined {
  const read = (flag: string, p: string | undefined): Buffer | undefined => {
    if (p === undefined) return undefined;
    try {
      return readFileSync(p);
    } catch (e) {
      throw new InvalidArgumentError(`cannot read --${flag} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  if (paths.cacert === undefined && paths.cert === undefined && paths.key === undefined) return undefined;
  const ca = read('cacert', paths.cacert);
  const cert = read('cert', paths.cert);
  const key = read('key', paths.key);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}
