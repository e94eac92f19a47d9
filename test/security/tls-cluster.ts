/** A cluster of real `raftkv serve` processes with client and peer TLS, certificates made at test time. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftkvClient, type ClientTls } from '../../src/client/index.js';
import { makeCa, makeCert, type CertPair } from '../../scripts/dev-certs.js';
import { freePort } from '../support/free-port.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const STDERR_KEEP_BYTES = 64 * 1024;
export const TICK_MS = 20;

/**
 * Separate CAs as etcd recommends: `clientCa` signs the client-port certificates and the client's,
 * `peerCa` the members' peer certificates, and `evilCa` everything a rogue process holds.
 */
export interface Pki {
  readonly dir: string;
  readonly clientCa: CertPair;
  readonly peerCa: CertPair;
  readonly evilCa: CertPair;
  readonly client: CertPair;
  readonly serving: Map<number, CertPair>;
  readonly peer: Map<number, CertPair>;
  readonly evil: CertPair;
}

export async function makePki(dir: string, ids: readonly number[]): Promise<Pki> {
  const clientCa = await makeCa(dir, 'client-ca');
  const peerCa = await makeCa(dir, 'peer-ca');
  const evilCa = await makeCa(dir, 'evil-ca');
  const serving = new Map<number, CertPair>();
  const peer = new Map<number, CertPair>();
  for (const id of ids) {
    serving.set(id, await makeCert(dir, clientCa, `serving${id}`));
    peer.set(id, await makeCert(dir, peerCa, `peer${id}`));
  }
  return { dir, clientCa, peerCa, evilCa, serving, peer, client: await makeCert(dir, clientCa, 'client', []), evil: await makeCert(dir, evilCa, 'evil') };
}

export function clientTls(pki: Pki, o: { ca?: string | null; cert?: CertPair | null } = {}): ClientTls {
  const ca = o.ca === undefined ? pki.clientCa.cert : o.ca;
  const cert = o.cert === undefined ? pki.client : o.cert;
  return { ...(ca ? { ca: readFileSync(ca) } : {}), ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}) };
}

/** The TLS flags of node `id`; `override` replaces the files (a rogue node gets evil ones). */
export function tlsFlags(pki: Pki, id: number, override?: { serving: CertPair; peer: CertPair; clientCa: string; peerCa: string }): string[] {
  const s = override?.serving ?? pki.serving.get(id)!;
  const p = override?.peer ?? pki.peer.get(id)!;
  return [
    `--cert_file=${s.cert}`, `--key_file=${s.key}`, `--trusted_ca_file=${override?.clientCa ?? pki.clientCa.cert}`, '--client_cert_auth',
    `--peer_cert_file=${p.cert}`, `--peer_key_file=${p.key}`, `--peer_trusted_ca_file=${override?.peerCa ?? pki.peerCa.cert}`, '--peer_client_cert_auth',
    `--metrics_cert_file=${s.cert}`, `--metrics_key_file=${s.key}`,
  ];
}

export interface TlsNode {
  readonly id: number;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  readonly metricsAddr: string;
  /** The cluster page on its own listener (HTTPS, client certificate required as on the client port). */
  readonly httpAddr: string;
  proc: ChildProcess | null;
  stderr: string;
}

export class TlsCluster {
  readonly nodes = new Map<number, TlsNode>();
  /** Every member's gRPC address, given as --peers so followers can forward to the leader. */
  private peers = '';
  private readonly addrs = new Map<number, { raft: string; grpc: string }>();
  private constructor(readonly dir: string, readonly pki: Pki) {}

  static async start(size: number): Promise<TlsCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'raftkv-tls-'));
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const c = new TlsCluster(dir, await makePki(join(dir, 'pki'), [...ids, 4]));
    try {
      for (const id of ids) c.addrs.set(id, { raft: `127.0.0.1:${await freePort()}`, grpc: `127.0.0.1:${await freePort()}` });
      c.peers = [...c.addrs].map(([id, a]) => `${id}=${a.grpc}`).join(',');
      for (const id of ids) await c.spawn(id, tlsFlags(c.pki, id), id === 1 ? ['--raft_bootstrap'] : [`--join=${c.node(1).grpcAddr}`]);
      await c.waitFor(async () => {
        const m = await c.client([c.node(1).grpcAddr]).members({ timeoutMs: 2000 });
        return m.members.filter((x) => x.suffrage === 'voter').length === size && m.header.leaderId !== 0;
      }, 30_000, `${size} voters and a leader`);
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  private readonly clients: RaftkvClient[] = [];

  /** A client with the good CA and client certificate unless `tls` says otherwise; closed by stop(). */
  client(endpoints: string[], tls: ClientTls | null = clientTls(this.pki)): RaftkvClient {
    const c = new RaftkvClient({ endpoints, defaultTimeoutMs: 3000, retry: { attemptsMax: 2 }, ...(tls ? { tls } : {}) });
    this.clients.push(c);
    return c;
  }

  /** `waitReady: false` for a node that cannot get ready (a rogue stuck before joining). */
  async spawn(id: number, tls: string[], extra: string[] = [], waitReady = true): Promise<TlsNode> {
    const prev = this.nodes.get(id);
    const raftAddr = prev?.raftAddr ?? this.addrs.get(id)?.raft ?? `127.0.0.1:${await freePort()}`;
    const grpcAddr = prev?.grpcAddr ?? this.addrs.get(id)?.grpc ?? `127.0.0.1:${await freePort()}`;
    const args = [
      '--import', 'tsx', MAIN, 'serve', `--raft_id=${id}`, `--raft_addr=${raftAddr}`, `--grpc_addr=${grpcAddr}`, `--raft_data_dir=${join(this.dir, 'data')}`,
      `--tick_ms=${TICK_MS}`, '--election_ticks=10', '--log_level=info', '--drain_grace_ms=500', '--metrics_addr=127.0.0.1:0', `--http_addr=127.0.0.1:${await freePort()}`, `--peers=${this.peers}`, ...tls, ...extra,
    ];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    const partial: { stderr: string } = { stderr: '' };
    proc.stderr!.on('data', (d: Buffer) => (partial.stderr = (partial.stderr + d.toString()).slice(-STDERR_KEEP_BYTES)));
    const ready = !waitReady ? { metricsAddr: '', httpAddr: '' } : await new Promise<{ metricsAddr: string; httpAddr: string }>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer): void => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
        if (line === undefined) return;
        proc.stdout!.off('data', onData);
        resolve(JSON.parse(line) as { metricsAddr: string; httpAddr: string });
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`node ${id} exited with ${code} before it was ready:\n${partial.stderr}`)));
    });
    const n: TlsNode = { id, raftAddr, grpcAddr, metricsAddr: ready.metricsAddr, httpAddr: ready.httpAddr, proc, get stderr() { return partial.stderr; } };
    this.nodes.set(id, n);
    return n;
  }

  node(id: number): TlsNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** GET /metrics over HTTPS, verified against the client CA (the metrics port serves the client-port certificate). */
  scrape(id: number): Promise<string> {
    const [host, port] = this.node(id).metricsAddr.split(':');
    return new Promise((resolve, reject) => {
      const req = request({ host, port: Number(port), path: '/metrics', ca: readFileSync(this.pki.clientCa.cert), timeout: 3000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('scrape timed out')));
      req.end();
    });
  }

  async refused(id: number, path: 'raft_inbound' | 'raft_outbound' | 'forward'): Promise<number> {
    const m = new RegExp(`raftkv_transport_tls_refused_total\\{path="${path}"\\} (\\d+)`).exec(await this.scrape(id));
    return Number(m?.[1] ?? NaN);
  }

  kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    n.proc = null;
    if (!p || p.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  async waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = null;
    while (Date.now() < deadline) {
      try {
        if (await cond()) return;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${String((last as Error | null)?.message ?? last)}\n${this.logs()}`);
  }

  logs(): string {
    return [...this.nodes.values()].map((n) => `--- node ${n.id} stderr (tail) ---\n${n.stderr.slice(-3000)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
