/**
 * Client TLS, peer mTLS and certificate reload, on real `raftkv serve` processes over loopback with
 * certificates made by openssl at test time.
 */
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { credentials, Client, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutRequest, PutResponse } from '../../src/gen/raftkv/v1/kv.js';
import { FORWARDED_HEADER } from '../../src/service/forward.js';
import { makeCert } from '../../scripts/dev-certs.js';
import { TcpTransport } from '../../src/transport/raft/tcp-transport.js';
import { PeerRefusals, TlsFiles } from '../../src/transport/tls/index.js';
import { MSG_APP } from '../../src/transport/raft/message-types.js';
import type { Message } from '../../src/raft/types.js';
import { clientTls, tlsFlags, TlsCluster } from './tls-cluster.js';

let c: TlsCluster;

beforeAll(async () => {
  c = await TlsCluster.start(3);
}, 60_000);

afterAll(async () => {
  await c?.stop();
});

const endpoint = (id: number): string[] => [c.node(id).grpcAddr];

async function leaderId(): Promise<number> {
  return (await c.client(endpoint(1)).members({ timeoutMs: 2000 })).header.leaderId;
}

/** A raw unary Put with our own metadata and credentials, so the forwarded marker can be forged. */
function rawPut(addr: string, creds: ReturnType<typeof credentials.createSsl>, forged: boolean): Promise<ServiceError | null> {
  const client = new Client(addr, creds);
  const md = new Metadata();
  if (forged) md.set(FORWARDED_HEADER, '2');
  return new Promise((resolve) => {
    client.makeUnaryRequest('/raftkv.v1.KV/Put', (r: PutRequest) => Buffer.from(PutRequest.encode(r).finish()), (b: Buffer) => PutResponse.decode(b),
      PutRequest.fromPartial({ key: Buffer.from('forged'), value: Buffer.from('x') }), md, { deadline: Date.now() + 3000 }, (err) => {
        client.close();
        resolve(err);
      });
  });
}

describe('client TLS', () => {
  it('serves a client with the CA and a client certificate, through any member', async () => {
    for (const id of [1, 2, 3]) {
      const r = await c.client(endpoint(id)).put(`k${id}`, 'v');
      expect(r.revision).toBeGreaterThan(0);
    }
    expect((await c.client(endpoint(2)).get('k1')).kv?.value.toString()).toBe('v');
  });

  it('refuses a plaintext client', async () => {
    await expect(c.client(endpoint(1), null).put('a', 'b')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('refuses a client without the CA (it cannot verify the server)', async () => {
    await expect(c.client(endpoint(1), clientTls(c.pki, { ca: c.pki.evilCa.cert })).put('a', 'b')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('with --client_cert_auth refuses a client without a certificate, or with one from another CA', async () => {
    await expect(c.client(endpoint(1), clientTls(c.pki, { cert: null })).put('a', 'b')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(c.client(endpoint(1), clientTls(c.pki, { cert: c.pki.evil })).put('a', 'b')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('serves /metrics over HTTPS only', async () => {
    expect(await c.scrape(1)).toContain('raftkv_transport_tls_refused_total');
    const [host, port] = c.node(1).metricsAddr.split(':');
    const plain = await fetch(`http://${host}:${port}/metrics`).then(() => 'answered', () => 'refused');
    expect(plain).toBe('refused');
  });
});

describe('cluster page TLS', () => {
  /** GET path on node 1's page over HTTPS with the given client certificate (or none); the status or 'refused'. */
  const get = (path: string, cert: { cert: string; key: string } | null): Promise<number | 'refused'> => {
    const [host, port] = c.node(1).httpAddr.split(':');
    return new Promise((resolve) => {
      const req = httpsRequest({
        host, port: Number(port), path, timeout: 3000, agent: false, ca: readFileSync(c.pki.clientCa.cert),
        ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}),
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve('refused'));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  };

  it('serves the page (it can read every key) only over HTTPS to clients with a certificate, as the client port', async () => {
    expect(await get('/api/state', c.pki.client)).toBe(200);
    expect(await get('/api/state', null)).toBe('refused');
    expect(await get('/api/state', c.pki.evil)).toBe('refused');
    const [host, port] = c.node(1).httpAddr.split(':');
    expect(await fetch(`http://${host}:${port}/api/state`).then(() => 'answered', () => 'refused')).toBe('refused');
  });
});

describe('peer mTLS', () => {
  it('a forwarded-call marker without a peer certificate is refused and counted', async () => {
    const leader = await leaderId();
    const before = await c.refused(leader, 'forward');
    const ca = readFileSync(c.pki.clientCa.cert);
    // A legitimate client certificate, but from the client CA: it may call, not pose as a member.
    const asClient = credentials.createSsl(ca, readFileSync(c.pki.client.key), readFileSync(c.pki.client.cert));
    expect((await rawPut(c.node(leader).grpcAddr, asClient, true))?.code).toBe(status.UNAUTHENTICATED);
    expect(await rawPut(c.node(leader).grpcAddr, asClient, false)).toBeNull();
    // The rogue's certificate does not get past the handshake at all.
    const asRogue = credentials.createSsl(ca, readFileSync(c.pki.evil.key), readFileSync(c.pki.evil.cert));
    expect((await rawPut(c.node(leader).grpcAddr, asRogue, true))?.code).toBe(status.UNAVAILABLE);
    expect(await c.refused(leader, 'forward')).toBe(before + 1);
  });

  it('a process with a certificate from another CA cannot send a raft message or make the leader step down', async () => {
    const leader = await leaderId();
    const { header } = await c.client(endpoint(leader)).status();
    const before = await c.refused(leader, 'raft_inbound');
    const rogue = new TcpTransport({
      localId: 99, clusterId: 'raftkv', host: '127.0.0.1', port: 0,
      tls: { files: new TlsFiles({ certFile: c.pki.evil.cert, keyFile: c.pki.evil.key, caFiles: [c.pki.peerCa.cert] }), requireClientCert: true, refusals: new PeerRefusals(() => undefined) },
      onMessage: () => undefined, onUnreachable: () => undefined, onSnapshotStatus: () => undefined,
    });
    await rogue.start();
    try {
      // An append from a "leader" of a far higher term: delivered, it would depose the real leader.
      rogue.setPeer(leader, c.node(leader).raftAddr);
      const msg = (i: number): Message => ({ type: MSG_APP, from: 99, to: leader, term: header.raftTerm + 100, logTerm: 0, index: i, entries: [], commit: 0, reject: false, rejectHint: 0, snapshot: null, context: new Uint8Array(0) });
      await c.waitFor(async () => {
        rogue.send(msg(1));
        return (await c.refused(leader, 'raft_inbound')) >= before + 3;
      }, 15_000, 'the leader to refuse three rogue raft connections');
      expect(rogue.stats().connectionsEstablished).toBe(0);
    } finally {
      await rogue.close();
    }
    const after = await c.client(endpoint(leader)).status();
    expect(after.header.leaderId).toBe(leader);
    expect(after.header.raftTerm).toBe(header.raftTerm);
  });

  it('a raftkv process holding certificates from another CA cannot join', async () => {
    const pki = c.pki;
    const rogue = { serving: pki.evil, peer: pki.evil, clientCa: pki.evilCa.cert, peerCa: pki.evilCa.cert };
    // Its calls cannot get past node 1's handshake: it never learns the members, never starts raft.
    await c.spawn(4, tlsFlags(pki, 4, rogue), [`--join=${c.node(1).grpcAddr}`], false);
    await c.waitFor(() => c.node(4).stderr.includes('"attempt":3'), 15_000, 'the rogue to fail three join attempts');
    expect(c.node(4).stderr).not.toContain('"event":"ready"');
    const members = await c.client(endpoint(1)).members();
    expect(members.members.map((m) => m.id).sort()).toEqual([1, 2, 3]);
    await c.kill(4);
  });

  it('a member restarted with certificates from another CA is cut off; the others keep their leader and term', async () => {
    const leader = await leaderId();
    const victim = [1, 2, 3].find((id) => id !== leader)!;
    const { header } = await c.client(endpoint(leader)).status();
    const before = await c.refused(leader, 'raft_inbound');
    await c.kill(victim);
    const pki = c.pki;
    await c.spawn(victim, tlsFlags(pki, victim, { serving: pki.serving.get(victim)!, peer: pki.evil, clientCa: pki.clientCa.cert, peerCa: pki.peerCa.cert }));
    // Its votes and answers are refused at the handshake, counted on the leader.
    await c.waitFor(async () => (await c.refused(leader, 'raft_inbound')) > before, 15_000, 'the leader to refuse the re-certified member');
    const r = await c.client(endpoint(leader)).put('after-rogue', 'v');
    expect(r.revision).toBeGreaterThan(0);
    const now = await c.client(endpoint(leader)).status();
    expect(now.header.leaderId).toBe(leader);
    expect(now.header.raftTerm).toBe(header.raftTerm);
    // The cut-off member never sees that write (its raft messages go nowhere either way).
    await expect(c.client(endpoint(victim)).get('after-rogue', { consistency: 'stale' })).resolves.toMatchObject({ kv: null });
    await c.kill(victim);
    await c.spawn(victim, tlsFlags(pki, victim));
    await c.waitFor(async () => (await c.client(endpoint(victim)).get('after-rogue', { consistency: 'stale' })).kv !== null, 20_000, 'the member, with its real certificate again, to catch up');
  });
});

describe('certificate reload', () => {
  it('SIGHUP swaps the client-port certificate without dropping the node; a broken file keeps the old one', async () => {
    const id = 1;
    const pid = c.node(id).proc!.pid!;
    const served = (): Promise<string> => new Promise((resolve, reject) => {
      const [host, port] = c.node(id).grpcAddr.split(':');
      const s = connect({ host, port: Number(port), ca: readFileSync(c.pki.clientCa.cert), cert: readFileSync(c.pki.client.cert), key: readFileSync(c.pki.client.key), ALPNProtocols: ['h2'], servername: 'localhost' }, () => {
        const cn = s.getPeerCertificate().subject.CN;
        s.destroy();
        resolve(String(cn));
      });
      s.on('error', reject);
    });
    expect(await served()).toBe(`serving${id}`);
    const kept = c.client(endpoint(id));
    await kept.put('before-reload', 'v');
    const rotated = await makeCert(join(c.pki.dir, 'rotated'), c.pki.clientCa, 'rotated1');
    copyFileSync(rotated.cert, c.pki.serving.get(id)!.cert);
    copyFileSync(rotated.key, c.pki.serving.get(id)!.key);
    process.kill(pid, 'SIGHUP');
    await c.waitFor(async () => (await served()) === 'rotated1', 10_000, 'the rotated certificate to be served');
    // The connection opened before the reload still works, and the node never restarted.
    await kept.put('after-reload', 'v');
    expect(c.node(id).proc!.pid).toBe(pid);
    expect(c.node(id).proc!.exitCode).toBeNull();
    // A half-written key: the reload fails and the node keeps serving the certificate it had.
    // (the key made above, cut in half: no key material lives in the source)
    const keyFile = c.pki.serving.get(id)!.key;
    const whole = readFileSync(keyFile);
    writeFileSync(keyFile, whole.subarray(0, Math.floor(whole.length / 2)));
    process.kill(pid, 'SIGHUP');
    await c.waitFor(() => c.node(id).stderr.includes('TLS reload failed'), 10_000, 'the failed reload to be reported');
    expect(await served()).toBe('rotated1');
    expect((await c.client(endpoint(id)).put('after-bad-reload', 'v')).revision).toBeGreaterThan(0);
  });
});
