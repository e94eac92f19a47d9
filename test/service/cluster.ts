/** A cluster of real `raftkv serve` child processes on loopback, for integration tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ClusterClient, type MembersResponse } from '../../src/gen/raftkv/v1/cluster.js';
export { freePort } from '../support/free-port.js';
import { freePort } from '../support/free-port.js';
import { KVClient } from '../../src/gen/raftkv/v1/kv.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
/** Bytes of a child's stderr kept for failure reports. */
const STDERR_KEEP_BYTES = 64 * 1024;

export const TICK_MS = 20;

export interface NodeProc {
  readonly id: number;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  proc: ChildProcess | null;
  stderr: string;
  kv: KVClient;
  cluster: ClusterClient;
}

export class TestCluster {
  readonly nodes = new Map<number, NodeProc>();
  private constructor(readonly dataDir: string) {}

  /** `extra` flags go to every node (for example a small --snapshot_entries). */
  static async start(size: number, extra: string[] = []): Promise<TestCluster> {
    const c = new TestCluster(await mkdtemp(join(tmpdir(), 'raftkv-svc-')));
    try {
      const addrs = new Map<number, { raft: string; grpc: string }>();
      for (let id = 1; id <= size; id++) addrs.set(id, { raft: `127.0.0.1:${await freePort()}`, grpc: `127.0.0.1:${await freePort()}` });
      const peers = [...addrs].map(([id, a]) => `${id}=${a.grpc}`).join(',');
      await c.spawnNode(1, addrs.get(1)!, peers, ['--raft_bootstrap', ...extra]);
      const joins = [];
      for (let id = 2; id <= size; id++) joins.push(c.spawnNode(id, addrs.get(id)!, peers, [`--join=${addrs.get(1)!.grpc}`, ...extra]));
      await Promise.all(joins);
      await c.waitFor(async () => {
        const m = await c.members(1);
        return m.members.filter((x) => x.suffrage === 1).length === size && m.header!.leaderId !== 0;
      }, 20_000, `${size} voters and a leader`);
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  private async spawnNode(id: number, a: { raft: string; grpc: string }, peers: string, extra: string[]): Promise<NodeProc> {
    const args = ['--import', 'tsx', MAIN, 'serve', `--raft_id=${id}`, `--raft_addr=${a.raft}`, `--grpc_addr=${a.grpc}`, `--raft_data_dir=${this.dataDir}`, `--peers=${peers}`, `--tick_ms=${TICK_MS}`, '--election_ticks=10', '--log_level=info', '--drain_grace_ms=500', ...extra];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const n: NodeProc = { id, raftAddr: a.raft, grpcAddr: a.grpc, proc, stderr: '', kv: new KVClient(a.grpc, credentials.createInsecure()), cluster: new ClusterClient(a.grpc, credentials.createInsecure()) };
    this.nodes.set(id, n);
    proc.stderr!.on('data', (d: Buffer) => {
      n.stderr = (n.stderr + d.toString()).slice(-STDERR_KEEP_BYTES);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('"event":"ready"')) {
          proc.stdout!.off('data', onData);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`node ${id} exited with ${code} before it was ready:\n${n.stderr}`)));
    });
    return n;
  }

  node(id: number): NodeProc {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  members(id: number): Promise<MembersResponse> {
    return unary((cb) => this.node(id).cluster.members({ linearizable: false }, new Metadata(), { deadline: Date.now() + 2000 }, cb));
  }

  /** The leader as seen by every live node, once they agree. */
  async leaderId(timeoutMs = 10_000): Promise<number> {
    let leader = 0;
    await this.waitFor(async () => {
      const ids = new Set<number>();
      for (const n of this.live()) ids.add((await this.members(n.id)).header!.leaderId);
      leader = ids.size === 1 ? [...ids][0]! : 0;
      return leader !== 0;
    }, timeoutMs, 'all live nodes to agree on a leader');
    return leader;
  }

  live(): NodeProc[] {
    return [...this.nodes.values()].filter((n) => n.proc !== null);
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
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${String((last as Error | null)?.message ?? last)}\n${this.logs()}`);
  }

  logs(): string {
    return [...this.nodes.values()].map((n) => `--- node ${n.id} stderr (tail) ---\n${n.stderr.slice(-3000)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const n of this.nodes.values()) {
      n.kv.close();
      n.cluster.close();
    }
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id)));
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Promisifies a callback-style unary call. */
export function unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res)));
  });
}

export function deadline(ms = 5000): { deadline: number } {
  return { deadline: Date.now() + ms };
}
