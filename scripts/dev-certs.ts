/**
 * Throw-away certificates for local clusters and tests, made with Debian's `openssl` binary (EC P-256,
 * valid for DEV_CERT_DAYS). Never for production: the CA key sits next to the certificates.
 *
 * Each leaf certificate is good for both ends of a TLS connection (serverAuth and clientAuth) and
 * names localhost and 127.0.0.1, so one file serves a node's listener and its outgoing dials.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const DEV_CERT_DAYS = 30;
const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error('the openssl binary is needed to make throw-away certificates (Debian: apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

/** A self-signed CA named `name`: `<dir>/<name>.crt` and `<dir>/<name>.key`. */
export async function makeCa(dir: string, name: string): Promise<CertPair> {
  await mkdir(dir, { recursive: true });
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const conf = join(dir, `${name}.cnf`);
  await writeFile(conf, [
    '[req]', 'distinguished_name = dn', 'x509_extensions = ca', 'prompt = no', '[dn]', `CN = ${name}`,
    '[ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash', '',
  ].join('\n'));
  await openssl(['req', '-x509', ...CURVE, '-config', conf, '-days', String(DEV_CERT_DAYS), '-keyout', pair.key, '-out', pair.cert]);
  await chmod(pair.key, 0o600);
  await rm(conf);
  return pair;
}

/** A leaf certificate with common name `name`, signed by `ca`: `<dir>/<name>.crt` and `.key`. */
export async function makeCert(dir: string, ca: CertPair, name: string, sans: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1']): Promise<CertPair> {
  await mkdir(dir, { recursive: true });
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await openssl(['req', ...CURVE, '-subj', `/CN=${name}`, '-keyout', pair.key, '-out', csr]);
  await chmod(pair.key, 0o600);
  await writeFile(ext, [
    'basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = serverAuth,clientAuth',
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []), '',
  ].join('\n'));
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', String(DEV_CERT_DAYS), '-extfile', ext, '-out', pair.cert]);
  await rm(csr);
  await rm(ext);
  return pair;
}

/** What `npm start -- --tls` and the TLS tests use: one CA, a certificate per node, one for the client. */
export interface DevPki {
  readonly dir: string;
  readonly ca: CertPair;
  readonly nodes: ReadonlyMap<number, CertPair>;
  readonly client: CertPair;
}

export async function makeDevPki(dir: string, nodeIds: readonly number[]): Promise<DevPki> {
  const ca = await makeCa(dir, 'ca');
  const nodes = new Map<number, CertPair>();
  for (const id of nodeIds) nodes.set(id, await makeCert(dir, ca, `node${id}`));
  const client = await makeCert(dir, ca, 'client', []);
  return { dir, ca, nodes, client };
}
