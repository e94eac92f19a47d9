/**
 * Auth with client certificates (--client_cert_auth): etcdctl 3.4 presenting a certificate whose CN is
 * the user, on a 3-node cluster with client and peer TLS. Forwarded calls carry the verified user over
 * the peer-authenticated channel; a client cannot name its own identity.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KVClient, PutRequest } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { makeCert, type CertPair } from '../../scripts/dev-certs.js';
import { TlsCluster, tlsFlags } from './tls-cluster.js';

const HAVE_ETCDCTL = spawnSync('etcdctl', ['version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!HAVE_ETCDCTL)('auth by client certificate CN (etcdctl --cacert --cert --key)', () => {
  let c: TlsCluster;
  let rootCert: CertPair;
  let aliceCert: CertPair;
  const eps = (): string[] => [...c.nodes.values()].map((n) => n.grpcAddr);

  const ctl = (ep: string, cert: CertPair, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile('etcdctl', [`--endpoints=${ep}`, `--cacert=${c.pki.clientCa.cert}`, `--cert=${cert.cert}`, `--key=${cert.key}`, '--dial-timeout=3s', '--command-timeout=8s', ...args],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }));
    });
  const ok = async (ep: string, cert: CertPair, args: string[]): Promise<string> => {
    const r = await ctl(ep, cert, args);
    if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    c = await TlsCluster.start(3);
    rootCert = await makeCert(c.pki.dir, c.pki.clientCa, 'root', []);
    aliceCert = await makeCert(c.pki.dir, c.pki.clientCa, 'alice', []);
    const [a, b] = eps() as [string, string];
    await ok(a, rootCert, ['user', 'add', 'root:rootpw']);
    expect(await ok(b, rootCert, ['auth', 'enable'])).toContain('Authentication Enabled');
    // From here on the root certificate alone (no password) is root.
    await ok(a, rootCert, ['user', 'add', 'alice:alicepw']);
    await ok(b, rootCert, ['role', 'add', 'app']);
    await ok(a, rootCert, ['role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix']);
    await ok(b, rootCert, ['user', 'grant-role', 'alice', 'app']);
  }, 90_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('runs alice\'s calls as alice on every member (followers forward her identity)', async () => {
    for (const ep of eps()) {
      expect(await ok(ep, aliceCert, ['put', '/app/k', ep])).toContain('OK');
      expect(await ok(ep, aliceCert, ['get', '/app/k', '--print-value-only'])).toBe(`${ep}\n`);
      expect((await ctl(ep, aliceCert, ['put', '/other', 'v'])).stderr).toContain('etcdserver: permission denied');
      expect((await ctl(ep, aliceCert, ['role', 'list'])).stderr).toContain('etcdserver: permission denied');
    }
    // The client certificate used by the harness (CN "client") names no user at all.
    const stranger = await ctl(eps()[0]!, c.pki.client, ['put', '/app/k', 'v']);
    expect(stranger.stderr).toContain('etcdserver: permission denied');
  });

  it('lets a new member join while auth is on (a peer certificate needs no user), and it enforces the same rules', async () => {
    const n4 = await c.spawn(4, tlsFlags(c.pki, 4), [`--join=${eps()[0]!}`]);
    await c.waitFor(async () => (await ok(n4.grpcAddr, rootCert, ['member', 'list'])).trim().split('\n').length === 4, 30_000, 'node 4 in the member list');
    await c.waitFor(async () => (await ctl(n4.grpcAddr, aliceCert, ['get', '/app/k'])).code === 0, 30_000, 'node 4 to serve alice');
    expect((await ctl(n4.grpcAddr, aliceCert, ['put', '/other', 'v'])).stderr).toContain('etcdserver: permission denied');
    expect(await ok(n4.grpcAddr, aliceCert, ['put', '/app/n4', 'v'])).toContain('OK');
  }, 60_000);

  it('ignores a user named by the client, and refuses a client posing as a forwarding member', async () => {
    const creds = credentials.createSsl(readFileSync(c.pki.clientCa.cert), readFileSync(aliceCert.key), readFileSync(aliceCert.cert));
    for (const ep of eps()) {
      const kv = new KVClient(ep, creds);
      try {
        const put = (md: Metadata): Promise<ServiceError | null> =>
          new Promise((resolve) => kv.put(PutRequest.fromPartial({ key: Buffer.from('/other'), value: Buffer.from('x') }), md, { deadline: Date.now() + 5000 }, (e) => resolve(e)));
        const claim = new Metadata();
        claim.set('raftkv-forwarded-user', 'root');
        const e1 = await put(claim);
        expect(e1?.details).toBe('etcdserver: permission denied');
        const pose = new Metadata();
        pose.set('raftkv-forwarded-user', 'root');
        pose.set('raftkv-forwarded-by', '2');
        const e2 = await put(pose);
        expect(e2?.code).toBe(16); // UNAUTHENTICATED: a forwarded call needs a peer-CA certificate
      } finally {
        kv.close();
      }
    }
    expect(await ok(eps()[0]!, rootCert, ['get', '/other', '--print-value-only'])).toBe('');
  });
});
