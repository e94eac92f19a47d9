/** Runs Debian's etcdctl 3.4 (ETCDCTL_API=3) against one or more endpoints, for the acceptance tests. */
import { execFile, spawnSync } from 'node:child_process';

export const ETCDCTL = 'etcdctl';
export const HAVE_ETCDCTL = spawnSync(ETCDCTL, ['version'], { stdio: 'ignore' }).status === 0;
const CTL_TIMEOUT_MS = 20_000;

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `endpoints` is one host:port or several joined with commas. */
export function ctl(endpoints: string, args: string[], opts: { timeoutMs?: number; commandTimeout?: string } = {}): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ETCDCTL,
      [`--endpoints=${endpoints}`, '--dial-timeout=3s', `--command-timeout=${opts.commandTimeout ?? '10s'}`, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: opts.timeoutMs ?? CTL_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: unknown }).code as number) || 1 : 0, stdout, stderr }),
    );
    child.stdin?.end();
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
