import { spawn } from 'node:child_process';
import type { ClientIo } from './client-command-types.js';

/**
 * Runs `argv` as a child process while the CLI holds a lock: its output goes to the CLI's io line by
 * line, `env` is added to the CLI's own environment. Resolves with its exit code (128 + signal number
 * when a signal ended it, as a shell reports it). `stop` fires when the lock is lost or the CLI is
 * interrupted: the child gets SIGTERM.
 */
export function runChild(argv: readonly string[], env: Readonly<Record<string, string>>, io: ClientIo, stop: AbortSignal): Promise<number> {
  const [cmd, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['inherit', 'pipe', 'pipe'] });
    const onStop = (): void => {
      child.kill('SIGTERM');
    };
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) onStop();
    const lines = (write: (l: string) => void): ((chunk: Buffer) => void) => {
      let rest = '';
      child.once('close', () => {
        if (rest !== '') write(rest);
      });
      return (chunk) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) write(p);
      };
    };
    child.stdout.on('data', lines(io.out));
    child.stderr.on('data', lines(io.err));
    child.once('error', (e) => {
      stop.removeEventListener('abort', onStop);
      io.err(`raftkv: cannot run ${JSON.stringify(cmd)}: ${e.message}`);
      resolve(127);
    });
    child.once('close', (code, signal) => {
      stop.removeEventListener('abort', onStop);
      resolve(code ?? 128 + signalNumber(signal));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return signal === null ? 0 : (numbers[signal] ?? 0);
}
