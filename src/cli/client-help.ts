import { COMMANDS, COMMON_FLAGS, type Command, type FlagHelp } from './client-command-table.js';

/** `raftkv --help` (one line per command) and `raftkv <command> --help` (flags and examples). */

const NAME_WIDTH = 17;

export function topLevelHelp(): string {
  const lines = [
    'Usage: raftkv <command> [args] [flags]',
    '',
    'A replicated key-value store: run nodes with `raftkv serve`, talk to them with the other commands.',
    '',
    'Commands:',
    `  ${'serve'.padEnd(NAME_WIDTH)}run a node (raftkv serve --help lists its flags)`,
  ];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(NAME_WIDTH)}${c.summary}`);
  lines.push(
    '',
    'Client commands take --endpoints host:port[,...] (or $RAFTKV_ENDPOINTS), --timeout_ms N and',
    '--write-out simple|json|table (--json for short).',
    'raftkv help <command> (or raftkv <command> --help) shows a command\'s flags and examples.',
    'Exit codes: 0 ok, 1 server error (printed as CODE: message) or a negative answer, 2 bad usage.',
  );
  return lines.join('\n');
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name] as Command;
  const lines = [`Usage: raftkv ${c.usage} [flags]`, '', `${c.summary[0]?.toUpperCase()}${c.summary.slice(1)}.`];
  const own = Object.entries(c.flags ?? {});
  if (own.length > 0) lines.push('', 'Flags:', ...own.map(flagLine));
  lines.push('', 'Common flags:', ...Object.entries(COMMON_FLAGS).map(flagLine));
  lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

function flagLine([name, f]: [string, FlagHelp]): string {
  const spelled = f.kind === 'bool' ? `--${name}` : `--${name} ${f.kind === 'int' ? 'N' : 'VALUE'}`;
  return `  ${spelled.padEnd(22)}${f.help}`;
}
