import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Real `raftkv` child processes for the CLI tests (the CLI run under tsx, as `npm run raftkv` does). */

export const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

export interface Ready {
  readonly id: number;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  readonly waitingFor?: string;
}

export interface ServeProcess {
  readonly proc: ChildProcess;
  readonly ready: Ready;
  /** Everything the node wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited by the deadline. */
  stop(): Promise<void>;
}

/** Starts `raftkv serve` and waits for its `ready` line. */
export async function startServe(flags: readonly string[], readyTimeoutMs = 30_000): Promise<ServeProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...flags], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no ready line within ${readyTimeoutMs} ms; stderr: ${err.slice(-2000)}`)), readyTimeoutMs);
    const onExit = (code: number | null): void => fail(new Error(`raftkv serve exited (${code}) before it was ready; stderr: ${err.slice(-2000)}`));
    const fail = (e: Error): void => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(e);
    };
    proc.once('exit', onExit);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (line === undefined) return;
      clearTimeout(timer);
      proc.off('exit', onExit);
      resolve(JSON.parse(line) as Ready);
    });
  });
  return {
    proc,
    ready,
    stderr: () => err,
    stop: () => stopProcess(proc, 15_000),
  };
}

export async function stopProcess(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface CliOptions {
  readonly stdin?: Buffer;
  /**
   * Do not read stdout until the CLI has exited or this long has passed: a reader slower than the
   * CLI, as `| wc -c` on a busy machine is. A CLI that exits without draining stdout loses what the
   * pipe (64 KiB) could not hold; one that drains waits for the reader.
   */
  readonly slowReaderMs?: number;
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs one `raftkv` CLI command as a child process. */
export function runCli(args: readonly string[], o: CliOptions = {}): Promise<CliResult> {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...o.env },
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  proc.stdin.end(o.stdin ?? Buffer.alloc(0));
  if (o.slowReaderMs !== undefined) {
    proc.stdout.pause();
    const timer = setTimeout(() => proc.stdout.resume(), o.slowReaderMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      proc.stdout.resume();
    });
  }
  proc.stdout.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve) => {
    proc.once('close', (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr }));
  });
}
