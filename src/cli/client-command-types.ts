import type { CallOptions, RaftkvClient } from '../client/index.js';
import type { FlagKind, ParsedArgs } from './client-args.js';
import type { OutputFormat } from './client-format.js';

/** What a client command is and gets: shared by the command table and the command groups it includes. */

export interface ClientIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Fires when the user interrupts (Ctrl-C): ends `watch`. */
  readonly interrupt?: AbortSignal;
  /** Where `put KEY -` reads its value; process.stdin by default. */
  readonly stdin?: NodeJS.ReadableStream;
}

export interface Ctx {
  readonly client: RaftkvClient;
  readonly args: ParsedArgs;
  readonly format: OutputFormat;
  readonly call: CallOptions;
  readonly io: ClientIo;
}

export interface FlagHelp {
  readonly kind: FlagKind;
  readonly help: string;
}

export interface Command {
  readonly usage: string;
  /** One line for `raftkv --help`. */
  readonly summary: string;
  /** Shown by `raftkv <command> --help`; the endpoints come from $RAFTKV_ENDPOINTS. */
  readonly examples: readonly string[];
  /** Positional count accepted: [min, max]. */
  readonly arity: readonly [number, number];
  readonly flags?: Readonly<Record<string, FlagHelp>>;
  readonly run: (ctx: Ctx) => Promise<number>;
}

export const COMMON_FLAGS: Readonly<Record<string, FlagHelp>> = {
  endpoints: { kind: 'string', help: 'host:port[,host:port...] of any members (default $RAFTKV_ENDPOINTS, else 127.0.0.1:2379)' },
  timeout_ms: { kind: 'int', help: 'deadline of the whole call, retries included (default 5000)' },
  'write-out': { kind: 'string', help: 'output format: simple (default), json or table; -w works too' },
  json: { kind: 'bool', help: 'same as --write-out=json' },
  help: { kind: 'bool', help: 'show this help' },
  cacert: { kind: 'string', help: 'TLS: verify the servers with this CA certificate file (as etcdctl)' },
  cert: { kind: 'string', help: 'TLS: present this client certificate file (with --key)' },
  key: { kind: 'string', help: 'TLS: the client certificate\'s private key file' },
};

export const pos = (ctx: Ctx, i: number): string => ctx.args.positionals[i] as string;
export const has = (ctx: Ctx, flag: string): boolean => ctx.args.flags.has(flag);
export const flagInt = (ctx: Ctx, flag: string): number | undefined => {
  const v = ctx.args.flags.get(flag);
  return typeof v === 'string' ? Number(v) : undefined;
};
export const flagString = (ctx: Ctx, flag: string): string | undefined => {
  const v = ctx.args.flags.get(flag);
  return typeof v === 'string' ? v : undefined;
};
export const json = (ctx: Ctx): boolean => ctx.format === 'json';
