/**
 * A cluster of real `raftkv serve` child processes on a fault network (network.ts: each node in its
 * own network namespace, or behind loopback proxies), plus the process-level faults: SIGKILL +
 * restart on the same data dir and addresses, SIGSTOP/SIGCONT, remove + wipe + re-add, and
 * leadership transfer.
 *
 * Node 1 bootstraps with its listen address; the harness then re-adds node 1 with its advertised
 * raft address (with proxies, the proxy in front of it: an idempotent AddVoter whose context updates
 * every peer's address book) and adds the others with theirs. Fresh nodes get their address book
 * (peers.json, the file the CLI's --join seeds) written by the harness. Each node's --peers (gRPC,
 * for forwarding) is what the network says that node should dial.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { makeCa, makeCert, type CertPair } from '../../scripts/dev-certs.js';
import type { Random } from '../../src/common/random.js';
import { ClusterClient, Suffrage, type MembersResponse } from '../../src/gen/raftkv/v1/cluster.js';
import { NetnsNetwork } from './netns.js';
import type { FaultNetwork, NetworkMode, NodeAddresses } from './network.js';
import { ProxyNetwork } from './proxy-network.js';

/** Every node process any FaultCluster started, so an interrupted run still kills them all. */
const livePids = new Set<number>();

function trackChild(proc: ChildProcess): void {
  if (proc.pid === undefined) return;
  const pid = proc.pid;
  livePids.add(pid);
  proc.once('exit', () => livePids.delete(pid));
}

/** Synchronous, for process 'exit': SIGCONT (a paused node ignores SIGKILL until resumed) and SIGKILL. */
export function killAllNodesNow(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  livePids.clear();
}

process.once('exit', killAllNodesNow);

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const STDERR_KEEP_BYTES = 32 * 1024;
const READY_TIMEOUT_MS = 30_000;
const ADMIN_CALL_MS = 3_000;

export interface ClusterOptions {
  readonly size: number;
  readonly dataDir: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries: number;
  /** Extra environment for every node (the broken-mode switch). */
  readonly env?: Readonly<Record<string, string>>;
  readonly random: Random;
  /** Append every node's stderr (JSON logs at --log_level) to <logDir>/node-<id>.log. */
  readonly logDir?: string;
  readonly logLevel?: string;
  /** netns: a namespace per node (root only); proxy: loopback behind fault proxies. */
  readonly network: NetworkMode;
  /**
   * manual (default): node 1 bootstraps and the harness adds the others by hand. gossip: every node
   * starts with --gossip_seeds and --bootstrap_expect, and the leader's autopilot owns the
   * configuration (netns only: the proxies cannot fault gossip's UDP).
   */
  readonly membership?: 'manual' | 'gossip';
  /** Extra `raftkv serve` flags for every node (autopilot and gossip timings). */
  readonly extraArgs?: readonly string[];
  /**
   * Client TLS with client certificates required, and peer mTLS on raft and forwarding, from a
   * throw-away CA made under the data directory. The harness's own clients present a certificate too.
   */
  readonly tls?: boolean;
}

/** The certificates of a TLS fault run: a node's names cover every address it listens or is dialled on. */
interface FaultPki {
  readonly ca: CertPair;
  readonly nodes: ReadonlyMap<number, CertPair>;
  readonly credentials: ChannelCredentials;
}

function hostOf(addr: string): string {
  return addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
}

export interface FaultNode {
  readonly id: number;
  readonly addrs: NodeAddresses;
  proc: ChildProcess | null;
  paused: boolean;
  stderr: string;
  readonly admin: ClusterClient;
  restarts: number;
  /** Set while the harness itself kills the process; any other exit is a crash. */
  killing: boolean;
}

export function unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function waitUntil(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string, signal?: AbortSignal): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    signal?.throwIfAborted();
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${String((last as Error | null)?.message ?? last)}`);
}

export class FaultCluster {
  readonly nodes = new Map<number, FaultNode>();
  /** Node processes that exited without the harness killing them: a bug, whatever the checker says. */
  readonly crashes: string[] = [];
  private netOrNull: FaultNetwork | null = null;
  private pki: FaultPki | null = null;

  private constructor(readonly opts: ClusterOptions) {}

  static async start(opts: ClusterOptions): Promise<FaultCluster> {
    const c = new FaultCluster(opts);
    try {
      await c.setUp();
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  get ids(): number[] {
    return [...this.nodes.keys()];
  }

  private async setUp(): Promise<void> {
    const { size } = this.opts;
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    this.netOrNull = this.opts.network === 'netns' ? await NetnsNetwork.create(ids) : await ProxyNetwork.create(ids, this.opts.random);
    if (this.opts.tls === true && this.net.mode !== 'netns') throw new Error('TLS fault runs need the netns network: the loopback proxies read raft frames and cannot carry peer TLS');
    if (this.opts.tls === true) this.pki = await this.makePki(ids);
    for (const id of ids) {
      const addrs = this.net.addresses(id);
      const admin = new ClusterClient(addrs.grpc, this.clientCredentials());
      this.nodes.set(id, { id, addrs, proc: null, paused: false, stderr: '', admin, restarts: 0, killing: false });
    }
    if (this.gossipMode) {
      await Promise.all(ids.map((id) => this.spawnNode(id, false)));
    } else {
      await this.spawnNode(1, true);
      await this.addVoter(1);
      for (let id = 2; id <= size; id++) {
        await this.writeAddressBook(id);
        await this.spawnNode(id, false);
        await this.addVoter(id);
      }
    }
    await this.withLogs(waitUntil(async () => (await this.voters()).length === size && (await this.leaderId()) !== 0, 20_000, `${size} voters and a leader`));
  }

  /** What a client of this cluster dials with: TLS with the harness's certificate in a TLS run. */
  clientCredentials(): ChannelCredentials {
    return this.pki?.credentials ?? credentials.createInsecure();
  }

  private async makePki(ids: readonly number[]): Promise<FaultPki> {
    const dir = join(this.opts.dataDir, 'pki');
    const ca = await makeCa(dir, 'ca');
    const nodes = new Map<number, CertPair>();
    for (const id of ids) {
      const a = this.net.addresses(id);
      const hosts = new Set([a.raftListen, a.raftAdvertise, a.grpc, ...ids.filter((x) => x !== id).map((x) => this.net.peerGrpc(x, id))].map(hostOf));
      hosts.add('127.0.0.1');
      const sans = ['DNS:localhost', ...[...hosts].map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`))];
      nodes.set(id, await makeCert(dir, ca, `node${id}`, sans));
    }
    const client = await makeCert(dir, ca, 'harness', []);
    const [caPem, keyPem, certPem] = await Promise.all([readFile(ca.cert), readFile(client.key), readFile(client.cert)]);
    return { ca, nodes, credentials: credentials.createSsl(caPem, keyPem, certPem) };
  }

  /** Client TLS (certificates required) and peer mTLS flags for node `id` in a TLS run. */
  private tlsArgs(id: number): string[] {
    if (this.pki === null) return [];
    const own = this.pki.nodes.get(id)!;
    const ca = this.pki.ca.cert;
    return [
      `--cert_file=${own.cert}`, `--key_file=${own.key}`, `--trusted_ca_file=${ca}`, '--client_cert_auth',
      `--peer_cert_file=${own.cert}`, `--peer_key_file=${own.key}`, `--peer_trusted_ca_file=${ca}`, '--peer_client_cert_auth',
    ];
  }

  get gossipMode(): boolean {
    return this.opts.membership === 'gossip';
  }

  node(id: number): FaultNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** The network the nodes run on; the nemesis injects its network faults here. */
  get net(): FaultNetwork {
    if (this.netOrNull === null) throw new Error('the fault network is not set up');
    return this.netOrNull;
  }

  raftAdvertise(id: number): string {
    return this.node(id).addrs.raftAdvertise;
  }

  grpcAddr(id: number): string {
    return this.node(id).addrs.grpc;
  }

  nodeDir(id: number): string {
    return join(this.opts.dataDir, String(id));
  }

  /** The address book a fresh node starts from: every other node's raft proxy. */
  private async writeAddressBook(id: number): Promise<void> {
    await mkdir(this.nodeDir(id), { recursive: true });
    const book = Object.fromEntries(this.ids.filter((x) => x !== id).map((x) => [String(x), this.raftAdvertise(x)]));
    await writeFile(join(this.nodeDir(id), 'peers.json'), `${JSON.stringify(book)}\n`);
  }

  private async spawnNode(id: number, bootstrap: boolean): Promise<void> {
    const n = this.node(id);
    const peers = this.ids.filter((x) => x !== id).map((x) => `${x}=${this.net.peerGrpc(id, x)}`).join(',');
    const args = [
      '--import', 'tsx', MAIN, 'serve', `--raft_id=${id}`, `--raft_addr=${n.addrs.raftListen}`, `--grpc_addr=${this.grpcAddr(id)}`,
      `--raft_data_dir=${this.opts.dataDir}`, `--peers=${peers}`, `--tick_ms=${this.opts.tickMs}`, `--election_ticks=${this.opts.electionTicks}`,
      `--snapshot_entries=${this.opts.snapshotEntries}`, `--log_level=${this.opts.logLevel ?? 'warn'}`, '--drain_grace_ms=200', ...(bootstrap ? ['--raft_bootstrap'] : []),
      ...this.gossipArgs(id), ...this.tlsArgs(id), ...(this.opts.extraArgs ?? []),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.opts.env };
    if (this.opts.env?.['RAFTKV_TEST_BROKEN'] === undefined) delete env['RAFTKV_TEST_BROKEN'];
    const cmd = this.net.command(id, process.execPath, args);
    const proc = spawn(cmd.file, cmd.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    trackChild(proc);
    n.proc = proc;
    n.killing = false;
    n.paused = false;
    const logFile = this.opts.logDir === undefined ? null : createWriteStream(join(this.opts.logDir, `node-${id}.log`), { flags: 'a' });
    proc.stderr!.on('data', (d: Buffer) => {
      n.stderr = (n.stderr + d.toString()).slice(-STDERR_KEEP_BYTES);
      logFile?.write(d);
    });
    proc.once('close', () => logFile?.end());
    proc.once('exit', (code, sig) => {
      if (!n.killing) this.crashes.push(`node ${id} exited by itself (${code ?? sig}); stderr tail: ${n.stderr.slice(-1500)}`);
      if (n.proc === proc) n.proc = null;
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`node ${id} not ready after ${READY_TIMEOUT_MS} ms:\n${n.stderr}`)), READY_TIMEOUT_MS);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('"event":"ready"')) {
          proc.stdout!.off('data', onData);
          proc.stdout!.resume();
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`node ${id} exited (${code ?? sig}) before it was ready:\n${n.stderr.slice(-3000)}`));
      });
    });
  }

  /** Every node knows every gossip address as a seed and expects the whole cluster to bootstrap. */
  private gossipArgs(id: number): string[] {
    if (!this.gossipMode) return [];
    const seeds = this.ids.map((x) => this.node(x).addrs.gossip);
    if (seeds.some((a) => a === null)) throw new Error('gossip membership needs the netns network (the proxies cannot fault gossip)');
    return [`--gossip_addr=${this.node(id).addrs.gossip}`, `--gossip_seeds=${seeds.join(',')}`, `--bootstrap_expect=${this.opts.size}`];
  }

  private async addVoter(id: number, signal?: AbortSignal): Promise<void> {
    await this.withLogs(waitUntil(
      async () => {
        const via = this.liveIds().find((x) => x !== id) ?? id;
        await unary((cb) => this.node(via).admin.addVoter({ id, raftAddress: this.raftAdvertise(id), grpcAddress: '' }, new Metadata(), { deadline: Date.now() + ADMIN_CALL_MS }, cb));
        return true;
      },
      30_000,
      `node ${id} to be added as a voter`,
      signal,
    ));
  }

  /** A failed setup step says which nodes were running and what they last printed. */
  private async withLogs<T>(step: Promise<T>): Promise<T> {
    try {
      return await step;
    } catch (e) {
      const states = this.ids.map((id) => `node ${id}: ${this.node(id).proc === null ? 'not running' : this.node(id).paused ? 'paused' : `pid ${this.node(id).proc!.pid}`}`);
      throw new Error(`${(e as Error).message}\n${states.join('; ')}\n${this.logs()}`, { cause: e });
    }
  }

  liveIds(): number[] {
    return this.ids.filter((id) => this.node(id).proc !== null && !this.node(id).paused);
  }

  async members(id: number): Promise<MembersResponse> {
    return unary((cb) => this.node(id).admin.members({ linearizable: false }, new Metadata(), { deadline: Date.now() + 1000 }, cb));
  }

  async voters(): Promise<number[]> {
    for (const id of this.liveIds()) {
      try {
        const m = await this.members(id);
        return m.members.filter((x) => x.suffrage === Suffrage.SUFFRAGE_VOTER).map((x) => x.id);
      } catch {
        // try the next node
      }
    }
    return [];
  }

  /** The leader most live nodes name, or 0 when no node names one. */
  async leaderId(): Promise<number> {
    const votes = new Map<number, number>();
    await Promise.all(
      this.liveIds().map(async (id) => {
        try {
          const lead = (await this.members(id)).header?.leaderId ?? 0;
          if (lead !== 0) votes.set(lead, (votes.get(lead) ?? 0) + 1);
        } catch {
          // unreachable nodes do not vote
        }
      }),
    );
    let best = 0;
    let bestVotes = 0;
    for (const [id, v] of votes) if (v > bestVotes) [best, bestVotes] = [id, v];
    return best;
  }

  // --- process faults -------------------------------------------------------------------------

  async kill(id: number): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    if (!p) return;
    const exited = new Promise<void>((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve() : p.once('exit', () => resolve())));
    n.killing = true;
    p.kill('SIGKILL');
    if (n.paused) p.kill('SIGCONT');
    await exited;
    n.proc = null;
    n.paused = false;
    n.killing = false;
  }

  async restart(id: number): Promise<void> {
    const n = this.node(id);
    if (n.proc !== null) return;
    n.restarts++;
    await this.spawnNode(id, false);
  }

  pause(id: number): void {
    const n = this.node(id);
    if (!n.proc || n.paused) return;
    n.proc.kill('SIGSTOP');
    n.paused = true;
  }

  resume(id: number): void {
    const n = this.node(id);
    if (!n.proc || !n.paused) return;
    n.proc.kill('SIGCONT');
    n.paused = false;
  }

  /** Ask a node to take a snapshot now (so a kill can land while one is written); errors ignored. */
  snapshotSoon(id: number): void {
    this.node(id).admin.snapshot({}, new Metadata(), { deadline: Date.now() + ADMIN_CALL_MS }, () => undefined);
  }

  /** Remove a member, kill it, wipe its data, start it empty and add it back. */
  async removeWipeReadd(id: number, signal?: AbortSignal): Promise<void> {
    await waitUntil(
      async () => {
        const via = this.liveIds().find((x) => x !== id);
        if (via === undefined) return false;
        await unary((cb) => this.node(via).admin.removeServer({ id }, new Metadata(), { deadline: Date.now() + ADMIN_CALL_MS }, cb));
        return !(await this.voters()).includes(id);
      },
      30_000,
      `node ${id} to be removed`,
      signal,
    );
    await this.kill(id);
    await rm(this.nodeDir(id), { recursive: true, force: true });
    await this.writeAddressBook(id);
    this.node(id).restarts++;
    await this.spawnNode(id, false);
    await this.addVoter(id, signal);
  }

  async transferLeadership(target: number): Promise<void> {
    const via = this.liveIds()[0];
    if (via === undefined) return;
    await unary((cb) => this.node(via).admin.transferLeadership({ targetId: target }, new Metadata(), { deadline: Date.now() + ADMIN_CALL_MS }, cb));
  }

  /** Heal every fault: reconnect links, resume paused nodes, restart dead ones. */
  async healAll(): Promise<void> {
    await this.net.heal();
    for (const id of this.ids) this.resume(id);
    for (const id of this.ids) if (this.node(id).proc === null) await this.restart(id);
  }

  networkStats(): { mode: NetworkMode } & Record<string, number | string> {
    return { mode: this.opts.network, ...(this.netOrNull?.stats() ?? {}) };
  }

  logs(): string {
    return this.ids.map((id) => `--- node ${id} stderr (tail) ---\n${this.node(id).stderr.slice(-3000)}`).join('\n');
  }

  /** Kills every child by pid (SIGCONT first for paused ones), closes proxies and clients. */
  async stop(): Promise<void> {
    for (const n of this.nodes.values()) n.admin.close();
    await Promise.all(this.ids.map((id) => this.kill(id)));
    await this.netOrNull?.close();
  }
}
