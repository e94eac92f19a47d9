/**
 * Real `raftkv serve` child processes that can be SIGKILLed and restarted on the same data directory
 * and the same ports, for the crash test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/free-port.js';
import { RaftkvClient } from '../../src/client/index.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
/** Bytes of a child's stderr kept for failure reports (per node, across restarts). */
const STDERR_KEEP_BYTES = 32 * 1024;
/** A child that prints no ready line within this long has failed to start. */
const READY_TIMEOUT_MS = 20_000;
/** Poll period of waitUntil. */
const POLL_MS = 25;

export interface CrashNodeFlags {
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries: number;
}

export interface CrashNode {
  readonly id: number;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  proc: ChildProcess | null;
  /** Times this node was started (the first start included). */
  starts: number;
  stderr: string;
  /** A client that talks to this node only (stale reads answer from its own store). */
  readonly local: RaftkvClient;
}

/** Wait for a condition with a deadline; errors thrown by `cond` count as "not yet". */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, logs = (): string => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last === null ? '' : `; last error: ${(last as Error).message ?? String(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}\n${logs()}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * How children run the CLI: a one-file esbuild bundle of src/cli/main.ts when esbuild (a dependency
 * of tsx) loads, else `--import tsx`. The bundle is the same source; it starts in about half the
 * CPU time, which matters with 20+ restarts on a shared 2-core machine.
 */
async function cliEntry(dir: string): Promise<string[]> {
  try {
    const esbuild = await import('esbuild');
    const out = join(dir, 'bin/cli/main.js');
    await esbuild.build({ entryPoints: [MAIN], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, packages: 'external', logLevel: 'warning' });
    // Bare imports resolve from the bundle's directory upwards; reflection looks for ../gen/raftkv.binpb.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'bin/node_modules'), 'dir');
    await mkdir(join(dir, 'bin/gen'), { recursive: true });
    await copyFile(join(ROOT, 'src/gen/raftkv.binpb'), join(dir, 'bin/gen/raftkv.binpb'));
    return [out];
  } catch {
    return ['--import', 'tsx', MAIN];
  }
}

export class CrashCluster {
  readonly nodes = new Map<number, CrashNode>();
  private peers = '';
  private entry: string[] = ['--import', 'tsx', MAIN];

  private constructor(
    readonly dataDir: string,
    private readonly flags: CrashNodeFlags,
  ) {}

  /** Node 1 bootstraps, the others join; resolves once all are voters and a leader exists. */
  static async start(size: number, flags: CrashNodeFlags): Promise<CrashCluster> {
    const c = new CrashCluster(await mkdtemp(join(tmpdir(), 'raftkv-crash-')), flags);
    try {
      c.entry = await cliEntry(c.dataDir);
      const addrs: { id: number; raft: string; grpc: string }[] = [];
      for (let id = 1; id <= size; id++) addrs.push({ id, raft: `127.0.0.1:${await freePort()}`, grpc: `127.0.0.1:${await freePort()}` });
      c.peers = addrs.map((a) => `${a.id}=${a.grpc}`).join(',');
      for (const a of addrs) {
        c.nodes.set(a.id, { id: a.id, raftAddr: a.raft, grpcAddr: a.grpc, proc: null, starts: 0, stderr: '', local: new RaftkvClient({ endpoints: [a.grpc], defaultTimeoutMs: 2000 }) });
      }
      await c.spawn(1, ['--raft_bootstrap']);
      await Promise.all(addrs.slice(1).map((a) => c.spawn(a.id, [`--join=${addrs[0]!.grpc}`])));
      await waitUntil(async () => {
        const m = await c.node(1).local.members({ timeoutMs: 1000 });
        return m.members.filter((x) => x.suffrage === 'voter').length === size && m.header.leaderId !== 0;
      }, 30_000, `${size} voters and a leader`, () => c.logs());
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  node(id: number): CrashNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  grpcAddrs(): string[] {
    return [...this.nodes.values()].map((n) => n.grpcAddr);
  }

  liveIds(): number[] {
    return [...this.nodes.values()].filter((n) => n.proc !== null).map((n) => n.id);
  }

  /** Start (or restart, with the same data directory and ports) one node; resolves on its ready line. */
  async spawn(id: number, extra: string[] = []): Promise<void> {
    const n = this.node(id);
    if (n.proc) throw new Error(`node ${id} is already running`);
    const f = this.flags;
    const args = [
      ...this.entry, 'serve', `--raft_id=${id}`, `--raft_addr=${n.raftAddr}`, `--grpc_addr=${n.grpcAddr}`,
      `--raft_data_dir=${this.dataDir}`, `--peers=${this.peers}`, `--tick_ms=${f.tickMs}`, `--election_ticks=${f.electionTicks}`,
      `--snapshot_entries=${f.snapshotEntries}`, '--log_level=info', '--drain_grace_ms=200', ...extra,
    ];
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    n.proc = proc;
    n.starts++;
    n.stderr += `\n=== start #${n.starts} (pid ${proc.pid}) ===\n`;
    proc.stderr!.on('data', (d: Buffer) => {
      n.stderr = (n.stderr + d.toString()).slice(-STDERR_KEEP_BYTES);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`node ${id} printed no ready line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (!out.includes('"event":"ready"')) return;
        cleanup();
        proc.stdout!.resume(); // keep draining stdout so the child never blocks on a full pipe
        resolve();
      };
      const onExit = (code: number | null, sig: string | null): void => fail(new Error(`node ${id} exited (${code ?? sig}) before it was ready:\n${n.stderr.slice(-4000)}`));
      function cleanup(): void {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.off('exit', onExit);
      }
      function fail(e: Error): void {
        cleanup();
        reject(e);
      }
      proc.stdout!.on('data', onData);
      proc.once('exit', onExit);
    });
  }

  /** SIGKILL one node by pid and wait until the process is gone. */
  kill(id: number): Promise<void> {
    const n = this.node(id);
    const p = n.proc;
    n.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  logs(): string {
    return [...this.nodes.values()].map((n) => `--- node ${n.id} stderr (tail) ---\n${n.stderr.slice(-3000)}`).join('\n');
  }

  /** Kill every child by pid (even after a failure), close clients, remove the data directory. */
  async stop(): Promise<void> {
    for (const n of this.nodes.values()) n.local.close();
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id)));
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
