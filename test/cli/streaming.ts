import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/** A long-running `raftkv` CLI child (watch, lock, elect) whose output lines a test waits on. */
export interface StreamingCli {
  readonly proc: ChildProcess;
  /** stdout lines so far. */
  readonly lines: string[];
  stderr(): string;
  /** Resolves when `predicate` holds for the lines, or rejects after `timeoutMs` (with what arrived). */
  waitFor(what: string, predicate: (lines: readonly string[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code; SIGKILL after a grace period. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

const MAIN = join(ROOT, 'src/cli/main.ts');

export function startCli(args: readonly string[]): StreamingCli {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => {
    for (const w of waiters) w();
    resolve(code);
  }));
  return {
    proc, lines, exited,
    stderr: () => err,
    waitFor: (what, predicate, timeoutMs = 30_000) => new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (predicate(lines)) {
          done();
          resolve();
        } else if (proc.exitCode !== null) {
          done();
          reject(new Error(`raftkv ${args.join(' ')} exited (${proc.exitCode}) before ${what}; stdout ${JSON.stringify(lines)}; stderr ${err}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; stdout ${JSON.stringify(lines)}; stderr ${err}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    }),
    stop: async (signal = 'SIGINT') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
