/** `npm start -- --tls`: throw-away certificates under the data directory, and the flags that use them. */
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { makeDevPki, type DevPki } from './dev-certs.js';

/** Made once per data directory and reused on restart (delete <data_dir>/tls to make new ones). */
export async function ensureDevPki(dataDir: string, size: number): Promise<DevPki> {
  const dir = join(dataDir, 'tls');
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const pair = (name: string): { cert: string; key: string } => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  try {
    for (const name of ['ca', 'client', ...ids.map((id) => `node${id}`)]) await access(pair(name).key);
    return { dir, ca: pair('ca'), client: pair('client'), nodes: new Map(ids.map((id) => [id, pair(`node${id}`)])) };
  } catch {
    return makeDevPki(dir, ids);
  }
}

/** One CA for clients and peers keeps the walk-through short; see README "Security" for separate CAs. */
export function devTlsFlags(pki: DevPki, id: number): string[] {
  const n = pki.nodes.get(id)!;
  return [
    `--cert_file=${n.cert}`, `--key_file=${n.key}`, `--trusted_ca_file=${pki.ca.cert}`, '--client_cert_auth',
    `--peer_cert_file=${n.cert}`, `--peer_key_file=${n.key}`, `--peer_trusted_ca_file=${pki.ca.cert}`, '--peer_client_cert_auth',
    `--metrics_cert_file=${n.cert}`, `--metrics_key_file=${n.key}`,
  ];
}

export function devClientFlags(pki: DevPki): string {
  return `--cacert ${pki.ca.cert} --cert ${pki.client.cert} --key ${pki.client.key}`;
}

export function devClientCredentials(pki: DevPki): ChannelCredentials {
  return credentials.createSsl(readFileSync(pki.ca.cert), readFileSync(pki.client.key), readFileSync(pki.client.cert));
}
