import { UsageError, leaseHex, parseIntFlag, parseLeaseId } from './client-args.js';
import { has, json, pos, type Command, type Ctx } from './client-command-types.js';
import { showBytes, toJson } from './client-format.js';

/** `raftkv lease ...`: etcdctl's lease commands, with its output lines and hexadecimal ids. */

const SUBCOMMANDS = ['grant', 'revoke', 'timetolive', 'list', 'keep-alive'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

/** Positionals each subcommand takes after its name. */
const ARGS: Record<Sub, string> = { grant: 'TTL', revoke: 'ID', timetolive: 'ID', list: '', 'keep-alive': 'ID' };

function subcommand(ctx: Ctx): Sub {
  const sub = pos(ctx, 0);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`lease: want ${SUBCOMMANDS.join(', ')}; got ${JSON.stringify(sub)} (raftkv help lease)`);
  const want = ARGS[sub as Sub] === '' ? 1 : 2;
  if (ctx.args.positionals.length !== want) throw new UsageError(`usage: raftkv lease ${sub}${ARGS[sub as Sub] === '' ? '' : ` ${ARGS[sub as Sub]}`}`);
  if (has(ctx, 'keys') && sub !== 'timetolive') throw new UsageError('--keys goes with lease timetolive');
  if (has(ctx, 'once') && sub !== 'keep-alive') throw new UsageError('--once goes with lease keep-alive');
  return sub as Sub;
}

async function grant(ctx: Ctx): Promise<number> {
  const ttl = parseIntFlag('TTL', pos(ctx, 1));
  if (ttl < 1) throw new UsageError('lease grant TTL must be at least 1 second');
  const r = await ctx.client.leaseGrant(ttl, ctx.call);
  ctx.io.out(json(ctx) ? toJson({ ...r, idHex: leaseHex(r.id) }) : `lease ${leaseHex(r.id)} granted with TTL(${r.ttlSeconds}s)`);
  return 0;
}

async function revoke(ctx: Ctx): Promise<number> {
  const id = parseLeaseId(pos(ctx, 1));
  const r = await ctx.client.leaseRevoke(id, ctx.call);
  ctx.io.out(json(ctx) ? toJson({ ...r, id, idHex: leaseHex(id) }) : `lease ${leaseHex(id)} revoked`);
  return 0;
}

async function timeToLive(ctx: Ctx): Promise<number> {
  const id = parseLeaseId(pos(ctx, 1));
  const r = await ctx.client.leaseTimeToLive(id, { ...ctx.call, keys: has(ctx, 'keys') });
  if (json(ctx)) ctx.io.out(toJson({ ...r, idHex: leaseHex(id) }));
  else if (r.ttlSeconds < 0) ctx.io.out(`lease ${leaseHex(id)} already expired`);
  else {
    const keys = has(ctx, 'keys') ? `, attached keys([${r.keys.map(showBytes).join(' ')}])` : '';
    ctx.io.out(`lease ${leaseHex(id)} granted with TTL(${r.grantedTtlSeconds}s), remaining(${r.ttlSeconds}s)${keys}`);
  }
  return 0;
}

async function list(ctx: Ctx): Promise<number> {
  const r = await ctx.client.leases(ctx.call);
  if (json(ctx)) ctx.io.out(toJson({ ...r, idsHex: r.ids.map(leaseHex) }));
  else ctx.io.out([`found ${r.ids.length} leases`, ...r.ids.map(leaseHex)].join('\n'));
  return 0;
}

/** Renews until Ctrl-C (exit 0) or until the lease is gone (exit 1, NOT_FOUND). */
async function keepAlive(ctx: Ctx): Promise<number> {
  const id = parseLeaseId(pos(ctx, 1));
  const line = (ttl: number): string => (json(ctx) ? toJson({ id, idHex: leaseHex(id), ttlSeconds: ttl }) : `lease ${leaseHex(id)} keepalived with TTL(${ttl})`);
  if (has(ctx, 'once')) {
    ctx.io.out(line((await ctx.client.leaseKeepAliveOnce(id, ctx.call)).ttlSeconds));
    return 0;
  }
  const signal = ctx.io.interrupt;
  for await (const r of ctx.client.leaseKeepAlive(id, signal === undefined ? {} : { signal })) ctx.io.out(line(r.ttlSeconds));
  return 0;
}

const RUN: Record<Sub, (ctx: Ctx) => Promise<number>> = { grant, revoke, timetolive: timeToLive, list, 'keep-alive': keepAlive };

export const LEASE_COMMANDS: Readonly<Record<string, Command>> = {
  lease: {
    usage: 'lease grant TTL | revoke ID | timetolive ID [--keys] | list | keep-alive ID [--once]',
    summary: 'leases: grant one (keys put with --lease go when it ends), revoke, inspect, list, keep alive',
    examples: [
      'raftkv lease grant 30                      # lease 694d5a3b2f0e8d1c granted with TTL(30s)',
      'raftkv lease keep-alive 694d5a3b2f0e8d1c    # renews every TTL/3 until Ctrl-C',
      'raftkv lease timetolive 694d5a3b2f0e8d1c --keys',
      'raftkv lease list',
      'raftkv lease revoke 694d5a3b2f0e8d1c        # deletes the keys attached to it',
    ],
    arity: [1, 2],
    flags: {
      keys: { kind: 'bool', help: 'timetolive: also list the keys attached to the lease' },
      once: { kind: 'bool', help: 'keep-alive: renew once and exit' },
    },
    run: (ctx) => RUN[subcommand(ctx)](ctx),
  },
};
