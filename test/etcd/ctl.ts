/** Running Debian's etcdctl 3.4 (API v3) from tests: one-shot commands and long-running watches. */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const ETCDCTL = 'etcdctl';
export const HAVE_ETCDCTL = spawnSync(ETCDCTL, ['version'], { stdio: 'ignore' }).status === 0;

const CTL_TIMEOUT_MS = 15_000;

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function ctl(endpoint: string, args: string[], input?: string): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ETCDCTL,
      [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=8s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: CTL_TIMEOUT_MS },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: unknown }).code as number) || 1 : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

/** Runs etcdctl with -w json and parses its output; fails the test with etcdctl's stderr otherwise. */
export async function ctlJson<T = Record<string, unknown>>(endpoint: string, args: string[]): Promise<T> {
  const r = await ctl(endpoint, ['-w', 'json', ...args]);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A long-running etcdctl (watch) whose output accumulates in `out()`; kill it by pid with `stop()`. */
export function ctlProcess(endpoint: string, args: string[]): { out: () => string; exited: () => boolean; stop: () => void; proc: ChildProcess } {
  const proc = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    out: () => out,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
    proc,
  };
}

export const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString();

export interface CtlKv { key: string; value?: string; create_revision: number; mod_revision: number; version: number }
export interface CtlHeader { cluster_id: number; member_id: number; revision: number; raft_term: number }
export interface CtlRange { header: CtlHeader; kvs?: CtlKv[]; more?: boolean; count?: number }
