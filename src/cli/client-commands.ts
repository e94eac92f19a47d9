import { RaftkvClient, readClientTls, type CallOptions } from '../client/index.js';
import { ErrorCode, RaftkvError } from '../common/errors.js';
import { UsageError, parseArgs, parseIntFlag, type FlagKind, type ParsedArgs } from './client-args.js';
import { COMMANDS, COMMON_FLAGS, type ClientIo, type Command } from './client-command-table.js';
import { OUTPUT_FORMATS, toJson, type OutputFormat } from './client-format.js';
import { commandHelp, topLevelHelp } from './client-help.js';

export type { ClientIo } from './client-command-table.js';

/**
 * `raftkv <command>` for every command but `serve`: talks to a running cluster through RaftkvClient.
 * Exit codes: 0 ok, 1 server/network error (printed as CODE: message), 2 bad usage.
 */

export const DEFAULT_ENDPOINTS = '127.0.0.1:2379';
export const DEFAULT_CLI_TIMEOUT_MS = 5000;

/** Kept for callers of the old name: the text of `raftkv --help`. */
export const usageText = topLevelHelp;

interface Prepared {
  readonly command: Command;
  readonly args: ParsedArgs;
  readonly endpoints: string[];
  readonly timeoutMs: number;
  readonly format: OutputFormat;
}

/** Short flags spelled like etcdctl's. */
const SHORT_FLAGS: Readonly<Record<string, string>> = { '-w': '--write-out', '-h': '--help' };

/** Validates argv completely before anything connects; throws UsageError. */
export function prepare(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Prepared | { help: string } {
  const [name, ...raw] = argv;
  if (name === undefined || name === '--help' || name === 'help' || name === '-h') {
    const about = raw[0];
    if (about === undefined) return { help: topLevelHelp() };
    if (!Object.hasOwn(COMMANDS, about)) throw new UsageError(`unknown command ${JSON.stringify(about)} (raftkv help lists them)`);
    return { help: commandHelp(about) };
  }
  const command = COMMANDS[name];
  if (command === undefined || !Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command ${JSON.stringify(name)} (raftkv help lists them)`);
  // Short flags are spelled out up to "--": what follows it is positional (lock's command line).
  const dashes = raw.indexOf('--');
  const rest = raw.map((a, i) => (dashes !== -1 && i >= dashes ? a : (SHORT_FLAGS[a] ?? a)));
  const known = new Map<string, FlagKind>(Object.entries({ ...COMMON_FLAGS, ...command.flags }).map(([n, f]) => [n, f.kind]));
  let args: ParsedArgs;
  try {
    args = parseArgs(rest, known);
  } catch (e) {
    if (e instanceof UsageError && /^unknown flag /.test(e.message)) throw new UsageError(`${e.message} for raftkv ${name} (raftkv help ${name} lists its flags)`);
    throw e;
  }
  if (args.flags.has('help')) return { help: commandHelp(name) };
  const n = args.positionals.length;
  if (n < command.arity[0] || n > command.arity[1]) throw new UsageError(`usage: raftkv ${command.usage} (raftkv ${name} --help shows examples)`);
  const ep = args.flags.get('endpoints');
  const endpointList = (typeof ep === 'string' ? ep : env['RAFTKV_ENDPOINTS'] ?? DEFAULT_ENDPOINTS).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const e of endpointList) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(e)) throw new UsageError(`bad endpoint ${JSON.stringify(e)}: expected host:port`);
  }
  if (endpointList.length === 0) throw new UsageError('--endpoints is empty');
  const t = args.flags.get('timeout_ms');
  const timeoutMs = typeof t === 'string' ? parseIntFlag('timeout_ms', t) : DEFAULT_CLI_TIMEOUT_MS;
  if (timeoutMs === 0) throw new UsageError('--timeout_ms must be positive');
  return { command, args, endpoints: endpointList, timeoutMs, format: outputFormat(args) };
}

function outputFormat(args: ParsedArgs): OutputFormat {
  const w = args.flags.get('write-out');
  if (typeof w === 'string') {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(w)) throw new UsageError(`--write-out must be one of ${OUTPUT_FORMATS.join(', ')}, got ${JSON.stringify(w)}`);
    if (args.flags.has('json') && w !== 'json') throw new UsageError(`--json and --write-out=${w} exclude each other`);
    return w as OutputFormat;
  }
  return args.flags.has('json') ? 'json' : 'simple';
}

/** Exit code of a command interrupted by Ctrl-C (128 + SIGINT), except `watch`, which ends with 0. */
const EXIT_INTERRUPTED = 130;

const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Runs one client command; returns the process exit code (main.ts exits with it). */
export async function runClientCommand(argv: string[], ioIn?: ClientIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  // Ctrl-C aborts the call in flight (and ends a watch); the handler lives only as long as the command.
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  const io: ClientIo = ioIn ?? { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), interrupt: ac.signal };
  // SIGTERM too: a lock or a leadership held by this process is released (its lease revoked) on the way out.
  if (ioIn === undefined) for (const s of INTERRUPT_SIGNALS) process.once(s, onSigint);
  try {
    return await runWithIo(argv, io, env);
  } finally {
    for (const s of INTERRUPT_SIGNALS) process.removeListener(s, onSigint);
  }
}

async function runWithIo(argv: string[], io: ClientIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let p: Prepared | { help: string };
  try {
    p = prepare(argv, env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`raftkv: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if ('help' in p) {
    io.out(p.help);
    return 0;
  }
  const tlsFlag = (n: string): string | undefined => (typeof p.args.flags.get(n) === 'string' ? (p.args.flags.get(n) as string) : undefined);
  let tls;
  try {
    tls = readClientTls({ cacert: tlsFlag('cacert'), cert: tlsFlag('cert'), key: tlsFlag('key') });
  } catch (e) {
    io.err(`raftkv: ${(e as Error).message}`);
    return 2;
  }
  const client = new RaftkvClient({ endpoints: p.endpoints, defaultTimeoutMs: p.timeoutMs, ...(tls ? { tls } : {}) });
  try {
    const call: CallOptions = io.interrupt === undefined ? { timeoutMs: p.timeoutMs } : { timeoutMs: p.timeoutMs, signal: io.interrupt };
    return await p.command.run({ client, args: p.args, format: p.format, call, io });
  } catch (e) {
    if (io.interrupt?.aborted === true) return EXIT_INTERRUPTED;
    if (e instanceof UsageError) {
      io.err(`raftkv: ${e.message}`);
      return 2;
    }
    if (e instanceof RaftkvError) {
      const hint = nextStep(rootCode(e), p.endpoints);
      if (p.format === 'json') io.err(toJson({ error: { code: e.code, message: e.message, ...(hint === null ? {} : { hint }) } }));
      else io.err(`${e.code}: ${e.message}${hint === null ? '' : `\nhint: ${hint}`}`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}

/** The code that explains a timeout or exhausted retries: the last attempt's, when there is one. */
function rootCode(e: RaftkvError): ErrorCode {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof RaftkvError && e.code === ErrorCode.Timeout ? cause.code : e.code;
}

/** What the user can do about an error, when there is something to do. */
function nextStep(code: ErrorCode, endpoints: readonly string[]): string | null {
  switch (code) {
    case ErrorCode.Unavailable:
      return `no member answered at ${endpoints.join(',')}: check that the nodes run and that --endpoints (or $RAFTKV_ENDPOINTS) names their --grpc_addr`;
    case ErrorCode.NoLeader:
    case ErrorCode.NotLeader:
      return 'the cluster has no leader right now: a majority of the voters must run and reach each other (raftkv members shows them); retry in a moment';
    case ErrorCode.Timeout:
      return 'raise --timeout_ms, or check the cluster with raftkv status and raftkv members';
    case ErrorCode.Overloaded:
      return 'the cluster is busy: retry later';
    default:
      return null;
  }
}
