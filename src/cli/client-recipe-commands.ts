import { SESSION_TTL_SECONDS_DEFAULT, type LeaseSession } from '../client/index.js';
import { ErrorCode, RaftkvError } from '../common/errors.js';
import { UsageError, leaseHex } from './client-args.js';
import { runChild } from './client-child.js';
import { flagInt, has, json, pos, type Command, type Ctx } from './client-command-types.js';
import { showBytes, toJson } from './client-format.js';

/**
 * `raftkv lock` and `raftkv elect`, as etcdctl's: each holds a session (a lease kept alive) while it
 * waits, holds, or runs a command; leaving (Ctrl-C, the command's end) revokes the lease, which
 * deletes the lock or leadership key at once instead of after the TTL.
 */

/** Exit code of a command interrupted while it waited (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

const ttlFlag = { kind: 'int', help: `seconds the session lease lives without keep-alives (default ${SESSION_TTL_SECONDS_DEFAULT}): how long others wait if this process dies` } as const;

function sessionTtl(ctx: Ctx): number {
  const ttl = flagInt(ctx, 'ttl') ?? SESSION_TTL_SECONDS_DEFAULT;
  if (ttl < 1) throw new UsageError('--ttl must be at least 1 second');
  return ttl;
}

function anyOf(...signals: Array<AbortSignal | undefined>): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function lostError(what: string, s: LeaseSession): RaftkvError {
  const why = s.lostBecause;
  return new RaftkvError(why?.code ?? ErrorCode.NotFound, `${what} is no longer held: its session lease ${leaseHex(s.leaseId)} was lost${why === null ? '' : ` (${why.message})`}`);
}

/**
 * Runs `body` inside a session; closes it after (revoking the lease). A wait the user interrupts
 * exits 130; a session lost while waiting or holding is an error.
 */
async function withSession(ctx: Ctx, what: string, body: (s: LeaseSession, stop: AbortSignal) => Promise<number>): Promise<number> {
  const session = await ctx.client.session({ ...ctx.call, ttlSeconds: sessionTtl(ctx) });
  try {
    const code = await body(session, anyOf(ctx.io.interrupt, session.lost));
    if (session.lost.aborted) throw lostError(what, session);
    return code;
  } catch (e) {
    if (session.lost.aborted) throw lostError(what, session);
    if (ctx.io.interrupt?.aborted === true) return EXIT_INTERRUPTED;
    throw e;
  } finally {
    await session.close(ctx.call.timeoutMs === undefined ? {} : { timeoutMs: ctx.call.timeoutMs }).catch((e: unknown) => {
      ctx.io.err(`raftkv: could not revoke the session lease ${leaseHex(session.leaseId)} (it expires by itself within its TTL): ${(e as Error).message}`);
    });
  }
}

async function runLock(ctx: Ctx): Promise<number> {
  const name = pos(ctx, 0);
  const command = ctx.args.positionals.slice(1);
  return withSession(ctx, `lock ${JSON.stringify(name)}`, async (session, stop) => {
    const l = await ctx.client.lock(name, session.leaseId, { signal: stop });
    const key = showBytes(l.key);
    if (command.length > 0) {
      const rev = String(l.revision);
      return runChild(command, { RAFTKV_LOCK_KEY: key, RAFTKV_LOCK_REV: rev, ETCD_LOCK_KEY: key, ETCD_LOCK_REV: rev }, ctx.io, stop);
    }
    ctx.io.out(json(ctx) ? toJson({ key: l.key, revision: l.revision, lease: session.leaseId }) : key);
    await untilAborted(stop);
    return 0;
  });
}

async function runElect(ctx: Ctx): Promise<number> {
  const name = pos(ctx, 0);
  const proposal = ctx.args.positionals[1];
  const modes = [has(ctx, 'listen'), has(ctx, 'leader'), proposal !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('usage: raftkv elect NAME PROPOSAL | elect NAME --listen | elect NAME --leader');
  const show = (kv: { key: Buffer; value: Buffer; modRevision?: number }): string => (json(ctx) ? toJson(kv) : `${showBytes(kv.key)}\n${showBytes(kv.value)}`);
  if (has(ctx, 'leader')) {
    const r = await ctx.client.leader(name, ctx.call);
    if (r.kv !== null) ctx.io.out(show(r.kv));
    else ctx.io.err(`NOT_FOUND: election ${JSON.stringify(name)} has no leader`);
    return r.kv === null ? 1 : 0;
  }
  if (has(ctx, 'listen')) {
    const signal = ctx.io.interrupt;
    try {
      for await (const r of ctx.client.observe(name, signal === undefined ? {} : { signal })) if (r.kv !== null) ctx.io.out(show(r.kv));
    } catch (e) {
      if (signal?.aborted === true) return 0;
      throw e;
    }
    return 0;
  }
  return withSession(ctx, `leadership of ${JSON.stringify(name)}`, async (session, stop) => {
    const leader = await ctx.client.campaign(name, proposal as string, session.leaseId, { signal: stop });
    ctx.io.out(json(ctx) ? toJson({ ...leader, value: Buffer.from(proposal as string) }) : `${showBytes(leader.key)}\n${proposal}`);
    await untilAborted(stop);
    return 0;
  });
}

export const RECIPE_COMMANDS: Readonly<Record<string, Command>> = {
  lock: {
    usage: 'lock NAME [--ttl N] [[--] COMMAND [ARG...]]',
    summary: 'acquire the distributed lock NAME and hold it until Ctrl-C, or while COMMAND runs',
    examples: [
      'raftkv lock deploy                         # prints the lock key, holds it until Ctrl-C',
      'raftkv lock deploy -- ./deploy.sh --fast    # runs the command holding the lock; exits with its code',
    ],
    arity: [1, Number.MAX_SAFE_INTEGER],
    flags: { ttl: ttlFlag },
    run: runLock,
  },
  elect: {
    usage: 'elect NAME PROPOSAL | elect NAME --listen | elect NAME --leader [--ttl N]',
    summary: 'campaign in election NAME and lead until Ctrl-C; or print its leaders (--listen) or its leader (--leader)',
    examples: [
      'raftkv elect scheduler node-a              # waits to win, prints the leader key and value, leads until Ctrl-C',
      'raftkv elect scheduler --listen            # prints every new leader',
      'raftkv elect scheduler --leader --json',
    ],
    arity: [1, 2],
    flags: {
      listen: { kind: 'bool', help: 'observe: print the leader now and at every change, until Ctrl-C (etcdctl elect -l)' },
      leader: { kind: 'bool', help: 'print the current leader\'s key and value once; exit 1 if nobody leads' },
      ttl: ttlFlag,
    },
    run: runElect,
  },
};
