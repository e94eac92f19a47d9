/** Runs Debian's etcdctl 3.4 (ETCDCTL_API=3) from tests: one-shot commands and long-running watches. */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const ETCDCTL = 'etcdctl';
export const HAVE_ETCDCTL = spawnSync(ETCDCTL, ['version'], { stdio: 'ignore' }).status === 0;
const CTL_TIMEOUT_MS = 20_000;

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CtlOptions {
  readonly timeoutMs?: number;
  readonly commandTimeout?: string;
  /** Written to etcdctl's stdin (txn -i reads it); empty by default. */
  readonly input?: string;
}

/** `endpoints` is one host:port or several joined with commas; a string third argument is stdin. */
export function ctl(endpoints: string, args: string[], options: CtlOptions | string = {}): Promise<CtlResult> {
  const opts: CtlOptions = typeof options === 'string' ? { input: options } : options;
  return new Promise((resolve) => {
    const child = execFile(
      ETCDCTL,
      [`--endpoints=${endpoints}`, '--dial-timeout=3s', `--command-timeout=${opts.commandTimeout ?? '10s'}`, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: opts.timeoutMs ?? CTL_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: unknown }).code as number) || 1 : 0, stdout, stderr }),
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** etcdctl with -w json, parsed; throws with etcdctl's stderr when it fails. */
export async function ctlJson<T = Record<string, unknown>>(endpoints: string, args: string[]): Promise<T> {
  const r = await ctl(endpoints, ['-w', 'json', ...args]);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The last "Error: ..." line etcdctl printed (its retry interceptor logs JSON lines before it). */
export function ctlError(r: CtlResult): string {
  return r.stderr.split('\n').filter((l) => l.startsWith('Error:')).pop() ?? r.stderr;
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
