/**
 * The CLI's lease, lock, elect, compact and watch --rev commands as a user runs them: `raftkv serve`
 * and every `raftkv` command are real child processes on loopback sockets, LevelDB in a temp dir.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe, type ServeProcess } from './processes.js';
import { startCli, type StreamingCli } from './streaming.js';

let dir = '';
let node: ServeProcess | null = null;
let ep: string[] = [];
const started: StreamingCli[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkv-cli-etcd-'));
  node = await startServe(['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', `--raft_data_dir=${dir}`, '--raft_bootstrap', '--log_level=warn']);
  ep = ['--endpoints', node.ready.grpcAddr];
}, 60_000);

afterAll(async () => {
  for (const c of started) await c.stop('SIGKILL');
  await node?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function cli(args: readonly string[]): StreamingCli {
  // The endpoints go first: what follows a lock's "--" is its command line.
  const c = startCli([args[0] as string, ...ep, ...args.slice(1)]);
  started.push(c);
  return c;
}

async function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runCli([args[0] as string, ...ep, ...args.slice(1)]);
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
}

/** Keys under `prefix`, read with the CLI. */
async function keys(prefix: string): Promise<string[]> {
  const r = await run(['range', prefix, '--keys_only']);
  expect(r.code).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('raftkv CLI over etcd\'s API', () => {
  it('lease grant / put --lease / timetolive --keys / list / keep-alive / revoke', async () => {
    const g = await run(['lease', 'grant', '60']);
    expect(g.code).toBe(0);
    const id = /^lease ([0-9a-f]+) granted with TTL\(60s\)\n$/.exec(g.stdout)?.[1];
    expect(id, g.stdout).toBeDefined();
    expect((await run(['put', 's/a', 'online', '--lease', id!])).code).toBe(0);
    const ttl = await run(['lease', 'timetolive', id!, '--keys']);
    expect(ttl.stdout).toMatch(new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((5\\d|60)s\\), attached keys\\(\\[s/a\\]\\)\\n$`));
    expect((await run(['lease', 'list'])).stdout.split('\n')).toContain(id);
    expect((await run(['lease', 'keep-alive', id!, '--once'])).stdout).toBe(`lease ${id} keepalived with TTL(60)\n`);
    const json = JSON.parse((await run(['lease', 'timetolive', id!, '--json'])).stdout) as { id: number; idHex: string; grantedTtlSeconds: number };
    expect(json).toMatchObject({ idHex: id, grantedTtlSeconds: 60 });
    expect(json.id).toBe(parseInt(id!, 16));

    // keep-alive renews until Ctrl-C, then exits 0.
    const ka = cli(['lease', 'keep-alive', id!]);
    await ka.waitFor('the first renewal', (l) => l.includes(`lease ${id} keepalived with TTL(60)`));
    expect(await ka.stop('SIGINT')).toBe(0);

    expect((await run(['lease', 'revoke', id!])).stdout).toBe(`lease ${id} revoked\n`);
    expect((await run(['get', 's/a'])).code).toBe(1);
    expect((await run(['lease', 'timetolive', id!])).stdout).toBe(`lease ${id} already expired\n`);
    const gone = await run(['lease', 'keep-alive', id!, '--once']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(new RegExp(`^NOT_FOUND: lease ${id} not found`));
  });

  it('watch --rev replays from that revision, then follows; Ctrl-C ends it with 0', async () => {
    const first = JSON.parse((await run(['put', 'w/a', '1', '--json'])).stdout) as { revision: number };
    const second = JSON.parse((await run(['put', 'w/b', '2', '--json'])).stdout) as { revision: number };
    const w = cli(['watch', 'w/', '--prefix', '--rev', String(first.revision)]);
    await w.waitFor('the replay', (l) => l.length >= 2);
    expect(w.lines.slice(0, 2)).toEqual([`PUT w/a = 1 (revision ${first.revision})`, `PUT w/b = 2 (revision ${second.revision})`]);
    const third = JSON.parse((await run(['del', 'w/a', '--json'])).stdout) as { revision: number };
    await w.waitFor('the delete', (l) => l.length >= 3);
    expect(w.lines[2]).toBe(`DELETE w/a (revision ${third.revision})`);
    expect(await w.stop('SIGINT')).toBe(0);
  });

  it('compact succeeds, or says clearly that the server does not support it', async () => {
    const r = await run(['compact', '1']);
    if (r.code === 0) expect(r.stdout).toBe('compacted revision 1\n');
    else {
      expect(r.code).toBe(1);
      expect(r.stderr, r.stderr).toMatch(/^FAILED_PRECONDITION: not supported by the server: .*compact/i);
    }
  });

  it('lock: a second holder waits until the first lets go, then runs its command holding the lock', async () => {
    const a = cli(['lock', 'L']);
    await a.waitFor('the lock', (l) => l.length >= 1);
    expect(a.lines[0]).toMatch(/^L\/[0-9a-f]+$/);
    const b = cli(['lock', 'L', '--', 'sh', '-c', 'echo "held $RAFTKV_LOCK_KEY"; exit 3']);
    // b queued: its key exists behind a's, and it has run nothing.
    await until('b to queue', async () => (await keys('L/')).length === 2);
    expect(b.lines).toEqual([]);
    expect(await a.stop('SIGINT')).toBe(0);
    await b.waitFor('b\'s command', (l) => l.some((x) => x.startsWith('held ')));
    expect(b.lines[0]).toMatch(/^held L\/[0-9a-f]+$/);
    expect(b.lines[0]).not.toBe(`held ${a.lines[0]}`);
    expect(await b.exited).toBe(3); // the command's exit code
    expect(await keys('L/')).toEqual([]); // both sessions revoked: nothing left behind
  });

  it.skipIf(!existsSync('/usr/bin/etcdctl'))('lock: etcdctl lock on the same name waits for raftkv lock, and takes over', async () => {
    const a = cli(['lock', 'LX']);
    await a.waitFor('the lock', (l) => l.length >= 1);
    const ctl = spawn('/usr/bin/etcdctl', [`--endpoints=${node!.ready.grpcAddr}`, 'lock', 'LX', 'echo', 'ctl-holds'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ctl.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const ctlExit = new Promise<number | null>((resolve) => ctl.once('close', resolve));
    try {
      await until('etcdctl to queue', async () => (await keys('LX/')).length === 2);
      expect(out).toBe('');
      expect(await a.stop('SIGINT')).toBe(0);
      expect(await ctlExit).toBe(0);
      expect(out).toBe('ctl-holds\n');
    } finally {
      ctl.kill('SIGKILL');
    }
  });

  it('lock: a holder whose lease is revoked under it says so and exits 1', async () => {
    const a = cli(['lock', 'LL', '--ttl', '3']);
    await a.waitFor('the lock', (l) => l.length >= 1);
    const lease = a.lines[0]!.slice('LL/'.length);
    expect((await run(['lease', 'revoke', lease])).code).toBe(0);
    expect(await a.exited).toBe(1);
    expect(a.stderr()).toMatch(new RegExp(`^NOT_FOUND: lock "LL" is no longer held: its session lease ${lease} was lost`));
  });

  it('elect: campaign, --leader, --listen, and the next candidate takes over when the leader leaves', async () => {
    const a = cli(['elect', 'E', 'alpha']);
    await a.waitFor('a to lead', (l) => l.length >= 2);
    expect(a.lines[0]).toMatch(/^E\/[0-9a-f]+$/);
    expect(a.lines[1]).toBe('alpha');
    const leader = await run(['elect', 'E', '--leader']);
    expect(leader).toMatchObject({ code: 0, stdout: `${a.lines[0]}\nalpha\n` });

    const watcher = cli(['elect', 'E', '--listen']);
    await watcher.waitFor('the current leader', (l) => l.includes('alpha'));
    const b = cli(['elect', 'E', 'beta']);
    await until('b to campaign', async () => (await keys('E/')).length === 2);
    expect(b.lines).toEqual([]);
    expect(await a.stop('SIGINT')).toBe(0);
    await b.waitFor('b to lead', (l) => l.length >= 2);
    expect(b.lines[1]).toBe('beta');
    await watcher.waitFor('the new leader', (l) => l.includes('beta'));
    expect(await b.stop('SIGTERM')).toBe(0);
    expect(await watcher.stop('SIGINT')).toBe(0);
    const none = await run(['elect', 'E', '--leader']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^NOT_FOUND: election "E" has no leader/);
  });
});
