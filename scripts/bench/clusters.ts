/**
 * Three-member clusters on loopback for the side-by-side benchmark: etcd from Debian's etcd-server
 * package and raftkv from dist/ (formed through gossip), with the same raft timers. Each member is a
 * child process whose pid the benchmark reads CPU time from (/proc/<pid>/stat) and kills by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../test/support/free-port.js';

export interface Member {
  readonly name: string;
  /** host:port of the gRPC client API (etcd's API on both). */
  readonly endpoint: string;
  /** host:port of raftkv's Prometheus endpoint, when started with metrics. */
  readonly metrics?: string;
  proc: ChildProcess | null;
  stderr: string;
  readonly restart: () => ChildProcess;
}

export interface BenchCluster {
  readonly system: 'etcd' | 'raftkv';
  readonly members: Member[];
  stop(): Promise<void>;
}

/** Raft timers both systems run with: etcd's defaults (100 ms heartbeat, 1000 ms election timeout). */
export interface Timers {
  readonly heartbeatMs: number;
  readonly electionMs: number;
}

const STDERR_KEEP_BYTES = 16 * 1024;
const ROOT = join(import.meta.dirname, '../..');
export const ETCD_BIN_CANDIDATES = ['/usr/bin/etcd', '/usr/local/bin/etcd'];

export function findEtcd(): string | null {
  return ETCD_BIN_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

function track(m: Member, proc: ChildProcess): ChildProcess {
  m.proc = proc;
  proc.stderr?.on('data', (d: Buffer) => {
    m.stderr = (m.stderr + d.toString()).slice(-STDERR_KEEP_BYTES);
  });
  proc.stdout?.resume();
  proc.once('exit', () => {
    if (m.proc === proc) m.proc = null;
  });
  return proc;
}

export async function startEtcd(bin: string, dataDir: string, t: Timers): Promise<BenchCluster> {
  const ports = await Promise.all([1, 2, 3].map(async () => ({ client: await freePort(), peer: await freePort() })));
  const initial = ports.map((p, i) => `m${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
  const members: Member[] = ports.map((p, i) => {
    const name = `m${i + 1}`;
    const args = [
      `--name=${name}`, `--data-dir=${join(dataDir, name)}`,
      `--listen-client-urls=http://127.0.0.1:${p.client}`, `--advertise-client-urls=http://127.0.0.1:${p.client}`,
      `--listen-peer-urls=http://127.0.0.1:${p.peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
      `--initial-cluster=${initial}`, '--initial-cluster-state=new', '--initial-cluster-token=bench',
      `--heartbeat-interval=${t.heartbeatMs}`, `--election-timeout=${t.electionMs}`, '--logger=zap', '--log-level=error',
    ];
    const m: Member = { name, endpoint: `127.0.0.1:${p.client}`, proc: null, stderr: '', restart: () => track(m, spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })) };
    return m;
  });
  for (const m of members) m.restart();
  return { system: 'etcd', members, stop: () => stopAll(members) };
}

export interface RaftkvStartOptions {
  readonly dataDir: string;
  readonly timers: Timers;
  /** Write CPU profiles (node --cpu-prof) of every member into this directory. */
  readonly profileDir?: string;
  /** Serve Prometheus metrics (costs a little per call: off for the headline figures). */
  readonly metrics?: boolean;
}

export async function startRaftkv(o: RaftkvStartOptions): Promise<BenchCluster> {
  const main = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(main)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  const ports = await Promise.all([1, 2, 3].map(async () => ({ raft: await freePort(), grpc: await freePort(), gossip: await freePort(), metrics: o.metrics === true ? await freePort() : 0 })));
  const seeds = ports.map((p) => `127.0.0.1:${p.gossip}`).join(',');
  if (o.profileDir !== undefined) await mkdir(o.profileDir, { recursive: true });
  const tickMs = o.timers.heartbeatMs;
  const members: Member[] = ports.map((p, i) => {
    const id = i + 1;
    const args = [
      ...(o.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=raftkv-${id}-\${pid}.cpuprofile`] : []),
      main, 'serve', `--raft_id=${id}`, `--raft_addr=127.0.0.1:${p.raft}`, `--grpc_addr=127.0.0.1:${p.grpc}`,
      `--raft_data_dir=${o.dataDir}`, `--gossip_addr=127.0.0.1:${p.gossip}`, `--gossip_seeds=${seeds}`, '--bootstrap_expect=3',
      `--tick_ms=${tickMs}`, `--election_ticks=${Math.round(o.timers.electionMs / tickMs)}`, '--log_level=warn',
      ...(p.metrics !== 0 ? [`--metrics_addr=127.0.0.1:${p.metrics}`] : []),
    ];
    const m: Member = { name: `n${id}`, endpoint: `127.0.0.1:${p.grpc}`, ...(p.metrics !== 0 ? { metrics: `127.0.0.1:${p.metrics}` } : {}), proc: null, stderr: '', restart: () => track(m, spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })) };
    return m;
  });
  for (const m of members) m.restart();
  return { system: 'raftkv', members, stop: () => stopAll(members) };
}

/** SIGTERM (graceful: a profiled member writes its profile), then SIGKILL after a grace. */
async function stopAll(members: readonly Member[]): Promise<void> {
  await Promise.all(members.map((m) => stopMember(m, 'SIGTERM')));
}

export function stopMember(m: Member, signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
  const p = m.proc;
  if (p === null || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill(signal);
  });
}

/** User + system CPU seconds a live process has used so far (Linux /proc). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const clockTicksPerSecond = 100; // USER_HZ on Linux
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return 0;
  }
}
