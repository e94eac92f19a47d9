import { RaftkvClient, readClientTls, type CallOptions } from '../client/index.js';
import { RaftkvError } from '../common/errors.js';
import { UsageError, parseArgs, parseId, parseIntFlag, type FlagKind, type ParsedArgs } from './client-args.js';
import { eventLine, kvLine, membersTable, showBytes, statusText, toJson } from './client-format.js';

/**
 * `raftkv <command>` for every command but `serve`: talks to a running cluster through RaftkvClient.
 * Exit codes: 0 ok, 1 server/network error (printed as CODE: message), 2 bad usage.
 */

export const DEFAULT_ENDPOINTS = '127.0.0.1:2379';
export const DEFAULT_CLI_TIMEOUT_MS = 5000;
/** Page size the CLI asks for when it walks a range. */
const RANGE_PAGE_KEYS = 1000;

export interface ClientIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Fires when the user interrupts (Ctrl-C): ends `watch`. */
  readonly interrupt?: AbortSignal;
}

interface Ctx {
  readonly client: RaftkvClient;
  readonly args: ParsedArgs;
  readonly json: boolean;
  readonly call: CallOptions;
  readonly io: ClientIo;
}

interface Command {
  readonly usage: string;
  readonly summary: string;
  /** Positional count accepted: [min, max]. */
  readonly arity: readonly [number, number];
  readonly flags?: Readonly<Record<string, FlagKind>>;
  readonly run: (ctx: Ctx) => Promise<number>;
}

const COMMON_FLAGS: Readonly<Record<string, FlagKind>> = { endpoints: 'string', timeout_ms: 'int', json: 'bool', help: 'bool', cacert: 'string', cert: 'string', key: 'string' };

const pos = (ctx: Ctx, i: number): string => ctx.args.positionals[i] as string;
const has = (ctx: Ctx, flag: string): boolean => ctx.args.flags.has(flag);
const flagInt = (ctx: Ctx, flag: string): number | undefined => {
  const v = ctx.args.flags.get(flag);
  return typeof v === 'string' ? Number(v) : undefined;
};

const COMMANDS: Readonly<Record<string, Command>> = {
  put: {
    usage: 'put KEY VALUE', summary: 'set KEY to VALUE', arity: [2, 2],
    run: async (ctx) => {
      const r = await ctx.client.put(pos(ctx, 0), pos(ctx, 1), ctx.call);
      ctx.io.out(ctx.json ? toJson(r) : `OK (revision ${r.revision})`);
      return 0;
    },
  },
  get: {
    usage: 'get KEY [--stale]', summary: 'print the value of KEY (linearizable unless --stale); exit 1 if absent', arity: [1, 1],
    flags: { stale: 'bool', linearizable: 'bool' },
    run: async (ctx) => {
      if (has(ctx, 'stale') && has(ctx, 'linearizable')) throw new UsageError('--stale and --linearizable exclude each other');
      const r = await ctx.client.get(pos(ctx, 0), { ...ctx.call, consistency: has(ctx, 'stale') ? 'stale' : 'linearizable' });
      if (ctx.json) ctx.io.out(toJson(r));
      else if (r.kv !== null) ctx.io.out(showBytes(r.kv.value));
      if (r.kv === null && !ctx.json) ctx.io.err(`NOT_FOUND: key ${JSON.stringify(pos(ctx, 0))} does not exist`);
      return r.kv === null ? 1 : 0;
    },
  },
  del: {
    usage: 'del KEY [--prefix]', summary: 'delete KEY, or every key starting with KEY when --prefix', arity: [1, 1],
    flags: { prefix: 'bool' },
    run: async (ctx) => {
      const k = pos(ctx, 0);
      if (has(ctx, 'prefix') && k === '') throw new UsageError('del --prefix needs a non-empty prefix');
      const r = await ctx.client.delete(has(ctx, 'prefix') ? { prefix: k } : k, ctx.call);
      ctx.io.out(ctx.json ? toJson(r) : `deleted ${r.deleted} (revision ${r.revision})`);
      return 0;
    },
  },
  range: {
    usage: 'range PREFIX [--limit N] [--keys_only] [--count_only] [--stale]', summary: 'list keys starting with PREFIX ("" for all)', arity: [1, 1],
    flags: { limit: 'int', keys_only: 'bool', count_only: 'bool', stale: 'bool' },
    run: runRange,
  },
  cas: {
    usage: 'cas KEY EXPECTED NEW | cas KEY --absent NEW', summary: 'set KEY to NEW only if its value is EXPECTED (or it is absent); exit 1 if not', arity: [2, 3],
    flags: { absent: 'bool' },
    run: async (ctx) => {
      const absent = has(ctx, 'absent');
      const n = ctx.args.positionals.length;
      if (absent ? n !== 2 : n !== 3) throw new UsageError(absent ? 'usage: cas KEY --absent NEW' : 'usage: cas KEY EXPECTED NEW (or cas KEY --absent NEW)');
      const r = await ctx.client.cas(pos(ctx, 0), absent ? null : pos(ctx, 1), pos(ctx, absent ? 1 : 2), ctx.call);
      if (ctx.json) ctx.io.out(toJson(r));
      else if (r.succeeded) ctx.io.out(`OK (revision ${r.revision})`);
      else ctx.io.err(`FAILED: current value is ${r.current === null ? '(absent)' : JSON.stringify(showBytes(r.current.value))}`);
      return r.succeeded ? 0 : 1;
    },
  },
  watch: {
    usage: 'watch KEY [--prefix] [--from REV]', summary: 'print changes to KEY (or keys starting with KEY) until Ctrl-C', arity: [1, 1],
    flags: { prefix: 'bool', from: 'int', prev_kv: 'bool' },
    run: runWatch,
  },
  members: {
    usage: 'members [--linearizable]', summary: 'list the raft members (--linearizable asks the leader)', arity: [0, 0],
    flags: { linearizable: 'bool' },
    run: async (ctx) => {
      const r = await ctx.client.members({ ...ctx.call, linearizable: has(ctx, 'linearizable') });
      ctx.io.out(ctx.json ? toJson(r) : membersTable(r.members));
      return 0;
    },
  },
  status: {
    usage: 'status', summary: 'show the status of the node serving the request', arity: [0, 0],
    run: async (ctx) => {
      const r = await ctx.client.status(ctx.call);
      ctx.io.out(ctx.json ? toJson(r) : statusText(r));
      return 0;
    },
  },
  'add-voter': confChange('add-voter', 'add a voting member', (c, id, addr, o) => c.addVoter(id, addr, o)),
  'add-nonvoter': confChange('add-nonvoter', 'add a non-voting member', (c, id, addr, o) => c.addNonvoter(id, addr, o)),
  remove: {
    usage: 'remove ID', summary: 'remove a member from the raft configuration', arity: [1, 1],
    run: async (ctx) => {
      const r = await ctx.client.removeServer(parseId('ID', pos(ctx, 0)), ctx.call);
      ctx.io.out(ctx.json ? toJson(r) : `OK (configuration index ${r.index})`);
      return 0;
    },
  },
  'transfer-leader': {
    usage: 'transfer-leader [ID]', summary: 'move leadership to ID (default: the most up-to-date voter)', arity: [0, 1],
    run: async (ctx) => {
      const target = ctx.args.positionals.length === 1 ? parseId('ID', pos(ctx, 0)) : 0;
      const r = await ctx.client.transferLeader(target, ctx.call);
      ctx.io.out(ctx.json ? toJson(r) : `OK: node ${r.newLeaderId} leads`);
      return 0;
    },
  },
  snapshot: {
    usage: 'snapshot', summary: 'take a snapshot now and compact the log behind it', arity: [0, 0],
    run: async (ctx) => {
      const r = await ctx.client.snapshot(ctx.call);
      ctx.io.out(ctx.json ? toJson(r) : `OK: snapshot at index ${r.index} (term ${r.term}, ${r.sizeBytes} bytes)`);
      return 0;
    },
  },
};

function confChange(
  name: string, summary: string,
  run: (c: RaftkvClient, id: number, raftAddr: string, o: CallOptions & { grpcAddress?: string }) => Promise<{ index: number }>,
): Command {
  return {
    usage: `${name} ID RAFT_ADDR [--grpc_addr HOST:PORT]`, summary, arity: [2, 2], flags: { grpc_addr: 'string' },
    run: async (ctx) => {
      const grpc = ctx.args.flags.get('grpc_addr');
      const o = typeof grpc === 'string' ? { ...ctx.call, grpcAddress: grpc } : ctx.call;
      const r = await run(ctx.client, parseId('ID', pos(ctx, 0)), pos(ctx, 1), o);
      ctx.io.out(ctx.json ? toJson(r) : `OK (configuration index ${r.index})`);
      return 0;
    },
  };
}

async function runRange(ctx: Ctx): Promise<number> {
  const limit = flagInt(ctx, 'limit') ?? 0;
  const keysOnly = has(ctx, 'keys_only');
  const base = { ...ctx.call, keysOnly, consistency: has(ctx, 'stale') ? 'stale' as const : 'linearizable' as const };
  if (has(ctx, 'count_only')) {
    const r = await ctx.client.range({ prefix: pos(ctx, 0) }, { ...base, countOnly: true });
    ctx.io.out(ctx.json ? toJson({ revision: r.revision, count: r.count }) : String(r.count));
    return 0;
  }
  // Walk the pages until the limit (0 = everything) or the end of the range.
  let printed = 0;
  let startAfter: Buffer | null = null;
  while (true) {
    const want = limit === 0 ? RANGE_PAGE_KEYS : Math.min(RANGE_PAGE_KEYS, limit - printed);
    const r = await ctx.client.range({ prefix: pos(ctx, 0) }, { ...base, limit: want, ...(startAfter === null ? {} : { startAfter }) });
    for (const kv of r.kvs) ctx.io.out(ctx.json ? toJson(kv) : kvLine(kv, keysOnly));
    printed += r.kvs.length;
    startAfter = r.nextStartAfter;
    if (startAfter === null || (limit !== 0 && printed >= limit)) return 0;
  }
}

async function runWatch(ctx: Ctx): Promise<number> {
  const k = pos(ctx, 0);
  const target = has(ctx, 'prefix') ? { prefix: k } : k;
  const from = flagInt(ctx, 'from');
  const signal = ctx.io.interrupt;
  try {
    const iter = ctx.client.watch(target, {
      ...(from === undefined ? {} : { fromRevision: from }),
      prevKv: has(ctx, 'prev_kv'),
      ...(signal === undefined ? {} : { signal }),
    });
    for await (const batch of iter) {
      for (const e of batch.events) ctx.io.out(ctx.json ? toJson(e) : eventLine(e));
    }
  } catch (e) {
    if (signal?.aborted === true) return 0;
    throw e;
  }
  return 0;
}

export function usageText(): string {
  const lines = ['usage: raftkv <command> [args] [--endpoints host:port[,host:port...]] [--timeout_ms N] [--json]', '', 'commands:'];
  lines.push(`  ${'serve [flags]'.padEnd(58)} run a node (see raftkv serve --help)`);
  for (const c of Object.values(COMMANDS)) lines.push(`  ${c.usage.padEnd(58)} ${c.summary}`);
  lines.push('', 'TLS (as etcdctl): --cacert FILE verifies the servers; --cert FILE --key FILE present a client certificate.');
  lines.push(`--endpoints defaults to $RAFTKV_ENDPOINTS or ${DEFAULT_ENDPOINTS}; --timeout_ms to ${DEFAULT_CLI_TIMEOUT_MS}.`);
  lines.push('exit codes: 0 ok, 1 server error (printed as CODE: message) or negative answer, 2 bad usage.');
  return lines.join('\n');
}

interface Prepared {
  readonly command: Command;
  readonly args: ParsedArgs;
  readonly endpoints: string[];
  readonly timeoutMs: number;
  readonly json: boolean;
}

/** Validates argv completely before anything connects; throws UsageError. */
export function prepare(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Prepared | 'help' {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === 'help' || name === '-h') return 'help';
  const command = COMMANDS[name];
  if (command === undefined || !Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command ${JSON.stringify(name)} (raftkv --help lists them)`);
  const known = new Map<string, FlagKind>(Object.entries({ ...COMMON_FLAGS, ...command.flags }));
  const args = parseArgs(rest, known);
  if (args.flags.has('help')) return 'help';
  const n = args.positionals.length;
  if (n < command.arity[0] || n > command.arity[1]) throw new UsageError(`usage: raftkv ${command.usage}`);
  const ep = args.flags.get('endpoints');
  const endpointList = (typeof ep === 'string' ? ep : env['RAFTKV_ENDPOINTS'] ?? DEFAULT_ENDPOINTS).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const e of endpointList) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(e)) throw new UsageError(`bad endpoint ${JSON.stringify(e)}: expected host:port`);
  }
  if (endpointList.length === 0) throw new UsageError('--endpoints is empty');
  const t = args.flags.get('timeout_ms');
  const timeoutMs = typeof t === 'string' ? parseIntFlag('timeout_ms', t) : DEFAULT_CLI_TIMEOUT_MS;
  if (timeoutMs === 0) throw new UsageError('--timeout_ms must be positive');
  return { command, args, endpoints: endpointList, timeoutMs, json: args.flags.has('json') };
}

/** Exit code of a command interrupted by Ctrl-C (128 + SIGINT), except `watch`, which ends with 0. */
const EXIT_INTERRUPTED = 130;

/** Runs one client command; returns the process exit code (main.ts exits with it). */
export async function runClientCommand(argv: string[], ioIn?: ClientIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  // Ctrl-C aborts the call in flight (and ends a watch); the handler lives only as long as the command.
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  const io: ClientIo = ioIn ?? { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), interrupt: ac.signal };
  if (ioIn === undefined) process.once('SIGINT', onSigint);
  try {
    return await runWithIo(argv, io, env);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function runWithIo(argv: string[], io: ClientIo, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  let p: Prepared | 'help';
  try {
    p = prepare(argv, env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`raftkv: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (p === 'help') {
    io.out(usageText());
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
    return await p.command.run({ client, args: p.args, json: p.json, call, io });
  } catch (e) {
    if (io.interrupt?.aborted === true) return EXIT_INTERRUPTED;
    if (e instanceof UsageError) {
      io.err(`raftkv: ${e.message}`);
      return 2;
    }
    if (e instanceof RaftkvError) {
      io.err(p.json ? toJson({ error: { code: e.code, message: e.message } }) : `${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    client.close();
  }
}
