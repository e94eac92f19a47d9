#!/usr/bin/env node
import { runClientCommand } from './client-commands.js';
import { topLevelHelp } from './client-help.js';
import { UsageError } from './flags.js';
import { EXIT, SERVE_USAGE, readServeConfig, serve } from './serve.js';
import { exitQuietlyOnBrokenPipe, flushStdio } from './stdio.js';

/** Exits once stdout and stderr are flushed (a pipe's reader may be slower than we are). */
async function exitFlushed(code: number): Promise<never> {
  await flushStdio();
  process.exit(code);
}

/** The node's exit: its logger writes synchronously, and it must exit even if a pipe reader is stuck. */
function exitNow(code: number): never {
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  // A node keeps its old behaviour on a broken pipe; a client command stops quietly.
  if (cmd !== 'serve') exitQuietlyOnBrokenPipe();
  if (cmd === undefined) {
    process.stdout.write(`${topLevelHelp()}\n`);
    return exitFlushed(EXIT.usage);
  }
  if ((cmd === '--help' || cmd === '-h' || cmd === 'help') && rest[0] === 'serve') {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return exitFlushed(EXIT.ok);
  }
  if (cmd === 'serve') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${SERVE_USAGE}\n`);
      return exitFlushed(EXIT.ok);
    }
    let cfg;
    try {
      cfg = readServeConfig(rest);
    } catch (e) {
      if (!(e instanceof UsageError) && (e as { code?: unknown }).code !== 'INVALID_ARGUMENT') throw e;
      process.stderr.write(`raftkv serve: ${(e as Error).message}\n`);
      return exitFlushed(EXIT.usage);
    }
    await serve(cfg, exitNow);
    return;
  }
  await exitFlushed(await runClientCommand(argv));
}

main(process.argv.slice(2)).catch(async (e: unknown) => {
  process.stderr.write(`raftkv: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  await exitFlushed(EXIT.failed);
});
