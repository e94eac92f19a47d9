import type { CallOptions, RaftkvClient } from '../client/index.js';
import { UsageError, parseId, parseLeaseId } from './client-args.js';
import { flagInt, flagString, has, json, pos, type Command, type Ctx } from './client-command-types.js';
import { eventLine, kvLine, kvTable, membersTable, showBytes, statusTable, statusText, toJson } from './client-format.js';
import { LEASE_COMMANDS } from './client-lease-commands.js';
import { RECIPE_COMMANDS } from './client-recipe-commands.js';
import { readValueArg } from './value-source.js';

/** The client commands of `raftkv`: what each accepts, says about itself, and does. */

export { COMMON_FLAGS, type ClientIo, type Command, type Ctx, type FlagHelp } from './client-command-types.js';

/** Page size the CLI asks for when it walks a range. */
const RANGE_PAGE_KEYS = 1000;

const stale = { kind: 'bool', help: 'read the answering node\'s copy, which may lag (faster, no leader round trip)' } as const;

export const COMMANDS: Readonly<Record<string, Command>> = {
  put: {
    usage: 'put KEY (VALUE | --file PATH | -) [--lease ID]',
    summary: 'set KEY to a value given inline, read from a file, or read from stdin (-)',
    examples: [
      'raftkv put greeting hello', 'raftkv put config/app.json --file ./app.json', 'tar c ./conf | raftkv put backup/conf.tar -',
      'raftkv put session/alice online --lease 694d5a3b2f0e8d1c',
    ],
    arity: [1, 2],
    flags: {
      file: { kind: 'string', help: 'read the value from this file (for values too large for the command line)' },
      lease: { kind: 'string', help: 'attach the key to this lease (its hexadecimal id, as lease grant prints it); the key goes when the lease does' },
    },
    run: async (ctx) => {
      const leaseFlag = flagString(ctx, 'lease');
      const lease = leaseFlag === undefined ? 0 : parseLeaseId(leaseFlag);
      const value = await readValueArg(ctx.args, ctx.io.stdin ?? process.stdin);
      const r = await ctx.client.put(pos(ctx, 0), value, { ...ctx.call, lease });
      ctx.io.out(json(ctx) ? toJson(r) : `OK (revision ${r.revision})`);
      return 0;
    },
  },
  get: {
    usage: 'get KEY [--stale]',
    summary: 'print the value of KEY (linearizable unless --stale); exit 1 if absent',
    examples: ['raftkv get greeting', 'raftkv get greeting --json | jq -r .kv.value'],
    arity: [1, 1],
    flags: { stale, linearizable: { kind: 'bool', help: 'ask the leader to confirm (the default)' } },
    run: async (ctx) => {
      if (has(ctx, 'stale') && has(ctx, 'linearizable')) throw new UsageError('--stale and --linearizable exclude each other');
      const r = await ctx.client.get(pos(ctx, 0), { ...ctx.call, consistency: has(ctx, 'stale') ? 'stale' : 'linearizable' });
      if (json(ctx)) ctx.io.out(toJson(r));
      else if (r.kv !== null) ctx.io.out(ctx.format === 'table' ? kvTable([r.kv], false) : showBytes(r.kv.value));
      if (r.kv === null && !json(ctx)) ctx.io.err(`NOT_FOUND: key ${JSON.stringify(pos(ctx, 0))} does not exist`);
      return r.kv === null ? 1 : 0;
    },
  },
  del: {
    usage: 'del KEY [--prefix]',
    summary: 'delete KEY, or every key starting with KEY when --prefix',
    examples: ['raftkv del greeting', 'raftkv del config/ --prefix'],
    arity: [1, 1],
    flags: { prefix: { kind: 'bool', help: 'delete every key that starts with KEY' } },
    run: async (ctx) => {
      const k = pos(ctx, 0);
      if (has(ctx, 'prefix') && k === '') throw new UsageError('del --prefix needs a non-empty prefix');
      const r = await ctx.client.delete(has(ctx, 'prefix') ? { prefix: k } : k, ctx.call);
      ctx.io.out(json(ctx) ? toJson(r) : `deleted ${r.deleted} (revision ${r.revision})`);
      return 0;
    },
  },
  range: {
    usage: 'range PREFIX [--limit N] [--keys_only] [--count_only] [--stale]',
    summary: 'list keys starting with PREFIX ("" for all), one per line (JSON: one object per line)',
    examples: ['raftkv range config/', 'raftkv range "" --keys_only --limit 10', 'raftkv range config/ -w table'],
    arity: [1, 1],
    flags: {
      limit: { kind: 'int', help: 'print at most N keys (0: all)' },
      keys_only: { kind: 'bool', help: 'print the keys without their values' },
      count_only: { kind: 'bool', help: 'print only how many keys there are' },
      stale,
    },
    run: runRange,
  },
  cas: {
    usage: 'cas KEY EXPECTED NEW | cas KEY --absent NEW',
    summary: 'set KEY to NEW only if its value is EXPECTED (or it is absent); exit 1 if not',
    examples: ['raftkv cas lock/a --absent owner-1', 'raftkv cas config/mode old new'],
    arity: [2, 3],
    flags: { absent: { kind: 'bool', help: 'succeed only if KEY does not exist' } },
    run: async (ctx) => {
      const absent = has(ctx, 'absent');
      const n = ctx.args.positionals.length;
      if (absent ? n !== 2 : n !== 3) throw new UsageError(absent ? 'usage: cas KEY --absent NEW' : 'usage: cas KEY EXPECTED NEW (or cas KEY --absent NEW)');
      const r = await ctx.client.cas(pos(ctx, 0), absent ? null : pos(ctx, 1), pos(ctx, absent ? 1 : 2), ctx.call);
      if (json(ctx)) ctx.io.out(toJson(r));
      else if (r.succeeded) ctx.io.out(`OK (revision ${r.revision})`);
      else ctx.io.err(`FAILED: current value is ${r.current === null ? '(absent)' : JSON.stringify(showBytes(r.current.value))}`);
      return r.succeeded ? 0 : 1;
    },
  },
  watch: {
    usage: 'watch KEY [--prefix] [--rev REV] [--prev_kv]',
    summary: 'print changes to KEY (or keys starting with KEY) until Ctrl-C',
    examples: ['raftkv watch config/ --prefix', 'raftkv watch greeting --rev 1', 'raftkv watch config/ --prefix --rev 42 --json'],
    arity: [1, 1],
    flags: {
      prefix: { kind: 'bool', help: 'watch every key that starts with KEY' },
      rev: { kind: 'int', help: 'replay the changes since this revision (inclusive) first, as etcdctl watch --rev' },
      from: { kind: 'int', help: 'the same as --rev (the older name)' },
      prev_kv: { kind: 'bool', help: 'include the previous value in each event (JSON output)' },
    },
    run: runWatch,
  },
  members: {
    usage: 'members [--linearizable]',
    summary: 'list the raft members: id, voter or non-voter, leader, addresses, match index',
    examples: ['raftkv members', 'raftkv members --json'],
    arity: [0, 0],
    flags: { linearizable: { kind: 'bool', help: 'ask the leader instead of the answering node' } },
    run: async (ctx) => {
      const r = await ctx.client.members({ ...ctx.call, linearizable: has(ctx, 'linearizable') });
      ctx.io.out(json(ctx) ? toJson(r) : membersTable(r.members));
      return 0;
    },
  },
  status: {
    usage: 'status',
    summary: 'show the answering node\'s role, term, indexes, log, snapshot and version',
    examples: ['raftkv status', 'raftkv status --endpoints 127.0.0.1:2379 -w table'],
    arity: [0, 0],
    run: async (ctx) => {
      const r = await ctx.client.status(ctx.call);
      ctx.io.out(json(ctx) ? toJson(r) : ctx.format === 'table' ? statusTable(r) : statusText(r));
      return 0;
    },
  },
  'add-voter': confChange('add-voter', 'add a voting member (it should be running and have caught up)', 'raftkv add-voter 4 127.0.0.1:7204 --grpc_addr 127.0.0.1:7304', (c, id, addr, o) => c.addVoter(id, addr, o)),
  'add-nonvoter': confChange('add-nonvoter', 'add a non-voting member that receives the log but does not vote', 'raftkv add-nonvoter 4 127.0.0.1:7204', (c, id, addr, o) => c.addNonvoter(id, addr, o)),
  remove: {
    usage: 'remove ID',
    summary: 'remove a member from the raft configuration',
    examples: ['raftkv remove 4'],
    arity: [1, 1],
    run: async (ctx) => {
      const r = await ctx.client.removeServer(parseId('ID', pos(ctx, 0)), ctx.call);
      ctx.io.out(json(ctx) ? toJson(r) : `OK (configuration index ${r.index})`);
      return 0;
    },
  },
  'transfer-leader': {
    usage: 'transfer-leader [ID]',
    summary: 'move leadership to ID (default: the most up-to-date voter)',
    examples: ['raftkv transfer-leader', 'raftkv transfer-leader 2'],
    arity: [0, 1],
    run: async (ctx) => {
      const target = ctx.args.positionals.length === 1 ? parseId('ID', pos(ctx, 0)) : 0;
      const r = await ctx.client.transferLeader(target, ctx.call);
      ctx.io.out(json(ctx) ? toJson(r) : `OK: node ${r.newLeaderId} leads`);
      return 0;
    },
  },
  keyring: {
    usage: 'keyring list | install KEY | use KEY | remove KEY [--local_only]',
    summary: 'gossip encryption keys on every alive member (as consul keyring); rotate: install, use, remove the old',
    examples: [
      'raftkv keyring list',
      'K=$(openssl rand -base64 32); raftkv keyring install "$K" && raftkv keyring use "$K" && raftkv keyring remove "$OLD"',
    ],
    arity: [1, 2],
    flags: { local_only: { kind: 'bool', help: 'only the answering member' } },
    run: async (ctx) => {
      const op = pos(ctx, 0);
      if (op !== 'list' && op !== 'install' && op !== 'use' && op !== 'remove') throw new UsageError(`keyring: want list, install, use or remove, got ${JSON.stringify(op)}`);
      if ((op === 'list') !== (ctx.args.positionals.length === 1)) throw new UsageError(op === 'list' ? 'keyring list takes no key' : `keyring ${op} needs a KEY (base64 of 32 bytes)`);
      const r = await ctx.client.keyring(op, op === 'list' ? '' : pos(ctx, 1), { ...ctx.call, localOnly: has(ctx, 'local_only') });
      if (json(ctx)) ctx.io.out(toJson(r));
      else for (const m of r.members) ctx.io.out(`member ${m.id}: ${m.ok ? 'ok' : `FAILED: ${m.error}`}${m.fingerprints.length > 0 ? `; keys ${m.fingerprints.map((f, i) => (i === 0 ? `${f} (primary)` : f)).join(', ')}` : ''}`);
      const failed = r.members.filter((m) => !m.ok).length;
      if (failed > 0) ctx.io.err(`${failed} of ${r.members.length} members failed; fix them and run the same command again (it is idempotent)`);
      return failed > 0 ? 1 : 0;
    },
  },
  compact: {
    usage: 'compact REV [--physical]',
    summary: 'discard the history before revision REV (etcd\'s compaction); reads and watches below it fail',
    examples: ['raftkv compact 1200', 'raftkv compact 1200 --physical'],
    arity: [1, 1],
    flags: { physical: { kind: 'bool', help: 'wait until the space is reclaimed on the answering member' } },
    run: async (ctx) => {
      const rev = parseId('REV', pos(ctx, 0));
      const r = await ctx.client.compact(rev, { ...ctx.call, physical: has(ctx, 'physical') });
      ctx.io.out(json(ctx) ? toJson({ ...r, compacted: rev }) : `compacted revision ${rev}`);
      return 0;
    },
  },
  ...LEASE_COMMANDS,
  ...RECIPE_COMMANDS,
  snapshot: {
    usage: 'snapshot',
    summary: 'take a snapshot on the answering node now and compact the log behind it',
    examples: ['raftkv snapshot --endpoints 127.0.0.1:2379'],
    arity: [0, 0],
    run: async (ctx) => {
      const r = await ctx.client.snapshot(ctx.call);
      ctx.io.out(json(ctx) ? toJson(r) : `OK: snapshot at index ${r.index} (term ${r.term}, ${r.sizeBytes} bytes)`);
      return 0;
    },
  },
};

function confChange(
  name: string, summary: string, example: string,
  run: (c: RaftkvClient, id: number, raftAddr: string, o: CallOptions & { grpcAddress?: string }) => Promise<{ index: number }>,
): Command {
  return {
    usage: `${name} ID RAFT_ADDR [--grpc_addr HOST:PORT]`, summary, examples: [example], arity: [2, 2],
    flags: { grpc_addr: { kind: 'string', help: 'the new member\'s client gRPC address, so others can forward to it' } },
    run: async (ctx) => {
      const grpc = ctx.args.flags.get('grpc_addr');
      const o = typeof grpc === 'string' ? { ...ctx.call, grpcAddress: grpc } : ctx.call;
      const r = await run(ctx.client, parseId('ID', pos(ctx, 0)), pos(ctx, 1), o);
      ctx.io.out(json(ctx) ? toJson(r) : `OK (configuration index ${r.index})`);
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
    ctx.io.out(json(ctx) ? toJson({ revision: r.revision, count: r.count }) : String(r.count));
    return 0;
  }
  // Walk the pages until the limit (0 = everything) or the end of the range.
  let printed = 0;
  let startAfter: Buffer | null = null;
  while (true) {
    const want = limit === 0 ? RANGE_PAGE_KEYS : Math.min(RANGE_PAGE_KEYS, limit - printed);
    const r = await ctx.client.range({ prefix: pos(ctx, 0) }, { ...base, limit: want, ...(startAfter === null ? {} : { startAfter }) });
    if (ctx.format === 'table') {
      // One table per page: column widths fit the page, and output streams for any range size.
      if (r.kvs.length > 0 || printed === 0) ctx.io.out(kvTable(r.kvs, keysOnly));
    } else {
      for (const kv of r.kvs) ctx.io.out(json(ctx) ? toJson(kv) : kvLine(kv, keysOnly));
    }
    printed += r.kvs.length;
    startAfter = r.nextStartAfter;
    if (startAfter === null || (limit !== 0 && printed >= limit)) return 0;
  }
}

async function runWatch(ctx: Ctx): Promise<number> {
  const k = pos(ctx, 0);
  const target = has(ctx, 'prefix') ? { prefix: k } : k;
  if (has(ctx, 'rev') && has(ctx, 'from')) throw new UsageError('--rev and --from are the same flag: give one');
  const from = flagInt(ctx, 'rev') ?? flagInt(ctx, 'from');
  const signal = ctx.io.interrupt;
  try {
    const iter = ctx.client.watch(target, {
      ...(from === undefined ? {} : { fromRevision: from }),
      prevKv: has(ctx, 'prev_kv'),
      ...(signal === undefined ? {} : { signal }),
    });
    for await (const batch of iter) {
      for (const e of batch.events) ctx.io.out(json(ctx) ? toJson(e) : eventLine(e));
    }
  } catch (e) {
    if (signal?.aborted === true) return 0;
    throw e;
  }
  return 0;
}
