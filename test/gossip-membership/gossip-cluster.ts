/** `raftkv serve` child processes that find each other through gossip seeds only, plus a gossip observer. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberState } from '../../src/gossip/index.js';
import { GOSSIP_PROFILES } from '../../src/node/gossip-setup.js';
import { memberNodeId } from '../../src/resolver/gossip-resolver.js';
import { GossipAgent } from '../../src/node/gossip-agent.js';
import { freePort } from '../support/free-port.js';
import { RaftkvClient, type MembersResult } from '../../src/client/index.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const STDERR_KEEP_BYTES = 64 * 1024;

/** Fast timings for loopback: raft ticks of 20 ms, gossip "test" profile, short autopilot waits. */
export const FAST_FLAGS = [
  '--tick_ms=20', '--election_ticks=10', '--gossip_profile=test', '--autopilot_stabilization_ms=300',
  '--autopilot_dead_grace_ms=1000', '--drain_grace_ms=500', '--log_level=info',
];

export interface GossipNode {
  readonly id: number;
  readonly grpcAddr: string;
  readonly gossipAddr: string;
  proc: ChildProcess | null;
  stderr: string;
  /** A client that knows only this node. */
  readonly client: RaftkvClient;
}

export class GossipCluster {
  readonly nodes = new Map<number, GossipNode>();
  private observer: GossipAgent | null = null;

  private constructor(readonly dataDir: string, readonly seeds: string[]) {}

  /** Reserves gossip ports for the seed nodes 1..seedCount (they are started by spawn). */
  static async create(seedCount: number): Promise<GossipCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'raftkv-gossip-'));
    const seeds: string[] = [];
    for (let i = 0; i < seedCount; i++) seeds.push(`127.0.0.1:${await freePort()}`);
    return new GossipCluster(dir, seeds);
  }

  /** Starts node `id` with only gossip flags (seed nodes use their reserved gossip address). */
  async spawn(id: number, extra: string[] = []): Promise<GossipNode> {
    const gossipAddr = this.seeds[id - 1] ?? `127.0.0.1:${await freePort()}`;
    const grpcAddr = `127.0.0.1:${await freePort()}`;
    const args = [
      '--import', 'tsx', MAIN, 'serve', `--raft_id=${id}`, `--raft_addr=127.0.0.1:${await freePort()}`, `--grpc_addr=${grpcAddr}`,
      `--raft_data_dir=${this.dataDir}`, `--gossip_addr=${gossipAddr}`, `--gossip_seeds=${this.seeds.join(',')}`, ...FAST_FLAGS, ...extra,
    ];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const n: GossipNode = { id, grpcAddr, gossipAddr, proc, stderr: '', client: new RaftkvClient({ endpoints: [grpcAddr], defaultTimeoutMs: 3000 }) };
    this.nodes.set(id, n);
    proc.stderr!.on('data', (d: Buffer) => {
      n.stderr = (n.stderr + d.toString()).slice(-STDERR_KEEP_BYTES);
    });
    proc.stdout!.resume();
    return n;
  }

  node(id: number): GossipNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  live(): GossipNode[] {
    return [...this.nodes.values()].filter((n) => n.proc !== null);
  }

  /** Joins the cluster's gossip as a member without raft metadata, to see what gossip sees. */
  async observe(): Promise<void> {
    const agent = new GossipAgent({
      name: 'observer', meta: { nodeId: 'observer', raftAddr: '', grpcAddr: '', version: 'test', tags: {} },
      config: GOSSIP_PROFILES.test, monitorEventLoop: false,
    });
    await agent.start();
    this.observer = agent;
    await agent.join(this.seeds, AbortSignal.timeout(5000));
  }

  /** Raft node ids gossip (as the observer sees it) holds alive. */
  gossipAlive(): number[] {
    return (this.observer?.members() ?? []).filter((m) => m.state === MemberState.Alive).map(memberNodeId).filter((id): id is number => id !== null).sort((a, b) => a - b);
  }

  members(id: number): Promise<MembersResult> {
    return this.node(id).client.members({ timeoutMs: 2000 });
  }

  kill(id: number, signal: NodeJS.Signals): Promise<number | null> {
    const n = this.node(id);
    const p = n.proc;
    n.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p?.exitCode ?? null);
    return new Promise((resolve) => {
      p.once('exit', (code) => resolve(code));
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
    return [...this.nodes.values()].map((n) => `--- node ${n.id} stderr (tail) ---\n${n.stderr.slice(-4000)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const n of this.nodes.values()) n.client.close();
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id, 'SIGKILL')));
    await this.observer?.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
