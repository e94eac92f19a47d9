#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from './flags.js';
import { EXIT, SERVE_USAGE, readServeConfig, serve } from './serve.js';

const USAGE = `Usage: raftkv <command> [flags]

Commands:
  serve     run a node (raftkv serve --help lists its flags)
  <other>   client commands (put, get, ...): raftkv <command> --help

raftkv --help shows this text.`;

function exit(code: number): never {
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    exit(cmd === undefined ? EXIT.usage : EXIT.ok);
  }
  if (cmd === 'serve') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${SERVE_USAGE}\n`);
      exit(EXIT.ok);
    }
    let cfg;
    try {
      cfg = readServeConfig(rest);
    } catch (e) {
      if (!(e instanceof UsageError) && (e as { code?: unknown }).code !== 'INVALID_ARGUMENT') throw e;
      process.stderr.write(`raftkv serve: ${(e as Error).message}\n`);
      exit(EXIT.usage);
    }
    await serve(cfg, exit);
    return;
  }
  exit(await runClient(argv));
}

/** Client subcommands live in client-commands.ts (written separately); load it only when needed. */
async function runClient(argv: string[]): Promise<number> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const found = ['client-commands.js', 'client-commands.ts'].some((f) => existsSync(`${here}${f}`));
  if (!found) {
    process.stderr.write(`raftkv: unknown command "${argv[0]}" (client commands are not built in this version; see raftkv --help)\n`);
    return EXIT.usage;
  }
  const specifier = './client-commands.js';
  const mod = (await import(specifier)) as { runClientCommand: (argv: string[]) => Promise<number> };
  return mod.runClientCommand(argv);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`raftkv: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  exit(EXIT.failed);
});
