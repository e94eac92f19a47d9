/**
 * Clusters on loopback for the side-by-side benchmarks: etcd from Debian's etcd-server package and
 * raftkv from dist/ (formed through gossip), with the same raft timers; three members unless told
 * otherwise, optionally pinned to CPUs with taskset (which execs the member, so the pid is the
 * member's own). Each member is a child process whose pid the benchmark reads CPU time and memory
 * from (/proc/<pid>/...) and kills by pid. `BenchCluster.launch` keeps what a fourth member needs
 * to start beside them (scripts/bench/join-member.ts).
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
  /** Every member started, joiners included (pushed by join-member.ts), so stop() ends them all. */
  readonly members: Member[];
  readonly launch: LaunchInfo;
  stop(): Promise<void>;
}

/** How the cluster's members were started: what a member started later must match. */
export interface LaunchInfo {
  readonly dataDir: string;
  readonly timers: Timers;
  readonly cpus?: string;
  /** etcd only: the binary. */
  readonly bin?: string;
  /** raftkv only: the members' gossip addresses, host:port,... */
  readonly gossipSeeds?: string;
}

/** Options both systems take beyond their data directory and timers. */
export interface ShapeOptions {
  /** Members to start (default 3). */
  readonly size?: number;
  /** Pin every member to these CPUs (`taskset -c <cpus>`, e.g. "0" or "0,1"); absent: not pinned. */
  readonly cpus?: string;
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

/** Spawns `bin args`, under `taskset -c cpus` when cpus is given. */
export function spawnMember(bin: string, args: readonly string[], cpus: string | undefined): ChildProcess {
  const [cmd, argv] = cpus === undefined ? [bin, args] : ['taskset', ['-c', cpus, bin, ...args]];
  return spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function track(m: Member, proc: ChildProcess): ChildProcess {
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

/** etcd's flags for one member; `cluster` is the --initial-cluster list, `state` new or existing. */
export function etcdArgs(name: string, dataDir: string, p: { client: number; peer: number }, cluster: string, state: 'new' | 'existing', t: Timers): string[] {
  return [
    `--name=${name}`, `--data-dir=${join(dataDir, name)}`,
    `--listen-client-urls=http://127.0.0.1:${p.client}`, `--advertise-client-urls=http://127.0.0.1:${p.client}`,
    `--listen-peer-urls=http://127.0.0.1:${p.peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${p.peer}`,
    `--initial-cluster=${cluster}`, `--initial-cluster-state=${state}`, '--initial-cluster-token=bench',
    `--heartbeat-interval=${t.heartbeatMs}`, `--election-timeout=${t.electionMs}`, '--logger=zap', '--log-level=error',
  ];
}

export async function startEtcd(bin: string, dataDir: string, t: Timers, shape: ShapeOptions = {}): Promise<BenchCluster> {
  const ports = await Promise.all(Array.from({ length: shape.size ?? 3 }, async () => ({ client: await freePort(), peer: await freePort() })));
  const initial = ports.map((p, i) => `m${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
  const members: Member[] = ports.map((p, i) => {
    const name = `m${i + 1}`;
    const args = etcdArgs(name, dataDir, p, initial, 'new', t);
    const m: Member = { name, endpoint: `127.0.0.1:${p.client}`, proc: null, stderr: '', restart: () => track(m, spawnMember(bin, args, shape.cpus)) };
    return m;
  });
  for (const m of members) m.restart();
  const launch: LaunchInfo = { dataDir, timers: t, bin, ...(shape.cpus !== undefined ? { cpus: shape.cpus } : {}) };
  return { system: 'etcd', members, launch, stop: () => stopAll(members) };
}

export interface RaftkvStartOptions {
  readonly dataDir: string;
  readonly timers: Timers;
  /** Write CPU profiles (node --cpu-prof) of every member into this directory. */
  readonly profileDir?: string;
  /** Serve Prometheus metrics (costs a little per call: off for the headline figures). */
  readonly metrics?: boolean;
  readonly size?: number;
  /** Pin every member to these CPUs (taskset -c). */
  readonly cpus?: string;
}

export const RAFTKV_MAIN = join(ROOT, 'dist/cli/main.js');

/** raftkv's flags shared by founding members and joiners (a joiner gives no --bootstrap_expect). */
export function raftkvArgs(id: number, dataDir: string, p: { raft: number; grpc: number; gossip: number }, seeds: string, t: Timers): string[] {
  return [
    RAFTKV_MAIN, 'serve', `--raft_id=${id}`, `--raft_addr=127.0.0.1:${p.raft}`, `--grpc_addr=127.0.0.1:${p.grpc}`,
    `--raft_data_dir=${dataDir}`, `--gossip_addr=127.0.0.1:${p.gossip}`, `--gossip_seeds=${seeds}`,
    `--tick_ms=${t.heartbeatMs}`, `--election_ticks=${Math.round(t.electionMs / t.heartbeatMs)}`, '--log_level=warn',
  ];
}

export async function startRaftkv(o: RaftkvStartOptions): Promise<BenchCluster> {
  if (!existsSync(RAFTKV_MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  const size = o.size ?? 3;
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ raft: await freePort(), grpc: await freePort(), gossip: await freePort(), metrics: o.metrics === true ? await freePort() : 0 })));
  const seeds = ports.map((p) => `127.0.0.1:${p.gossip}`).join(',');
  if (o.profileDir !== undefined) await mkdir(o.profileDir, { recursive: true });
  const members: Member[] = ports.map((p, i) => {
    const id = i + 1;
    const args = [
      ...(o.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=raftkv-${id}-${Date.now()}.cpuprofile`] : []),
      ...raftkvArgs(id, o.dataDir, p, seeds, o.timers), `--bootstrap_expect=${size}`,
      ...(p.metrics !== 0 ? [`--metrics_addr=127.0.0.1:${p.metrics}`] : []),
    ];
    const m: Member = { name: `n${id}`, endpoint: `127.0.0.1:${p.grpc}`, ...(p.metrics !== 0 ? { metrics: `127.0.0.1:${p.metrics}` } : {}), proc: null, stderr: '', restart: () => track(m, spawnMember(process.execPath, args, o.cpus)) };
    return m;
  });
  for (const m of members) m.restart();
  const launch: LaunchInfo = { dataDir: o.dataDir, timers: o.timers, gossipSeeds: seeds, ...(o.cpus !== undefined ? { cpus: o.cpus } : {}) };
  return { system: 'raftkv', members, launch, stop: () => stopAll(members) };
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

/** Resident memory of a live process in bytes (VmRSS in /proc/<pid>/status), 0 when it is gone. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? 0 : Number(line.split(/\s+/)[1]) * 1024; // the kernel reports kB
  } catch {
    return 0;
  }
}

/** The CPUs a live process may run on (Cpus_allowed_list in /proc/<pid>/status, e.g. "0-1"), '' when it is gone. */
export function cpusAllowed(pid: number | undefined): string {
  if (pid === undefined) return '';
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    return line?.split(/\s+/)[1] ?? '';
  } catch {
    return '';
  }
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
