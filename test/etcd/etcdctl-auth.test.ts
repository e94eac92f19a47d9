/**
 * Auth as etcd v3 has it, driven by Debian's etcdctl 3.4 and a raw gRPC client against a 3-node raftkv
 * cluster of real processes (plaintext): enable, users, roles, prefix permissions, refusals through
 * a follower and through the leader, a revoke that takes effect on every member, token expiry.
 */
import { execFile, spawnSync } from 'node:child_process';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthClient, KVClient, LeaseClient, MaintenanceClient, RangeRequest, type RangeResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { LockClient } from '../../src/gen/etcd/v3lockpb/v3lock.js';
import { TestCluster, unary } from '../service/cluster.js';

const HAVE_ETCDCTL = spawnSync('etcdctl', ['version'], { stdio: 'ignore' }).status === 0;
const TOKEN_TTL_S = 2;

interface Ctl { readonly code: number; readonly stdout: string; readonly stderr: string }

function ctl(endpoint: string, args: string[]): Promise<Ctl> {
  return new Promise((resolve) => {
    execFile('etcdctl', [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=8s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }));
  });
}

async function ok(endpoint: string, args: string[]): Promise<string> {
  const r = await ctl(endpoint, args);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const ROOT = ['--user', 'root:rootpw'];
const ALICE = ['--user', 'alice:alicepw'];

describe.skipIf(!HAVE_ETCDCTL)('etcd auth through etcdctl 3.4 on a 3-node cluster', () => {
  let c: TestCluster;
  let leader = '';
  let follower = '';
  let leaderId = 0;
  const all = (): string[] => [...c.nodes.values()].map((n) => n.grpcAddr);

  beforeAll(async () => {
    c = await TestCluster.start(3, [`--auth_token_ttl=${TOKEN_TTL_S}`]);
    const id = await c.leaderId();
    leaderId = id;
    leader = c.node(id).grpcAddr;
    follower = c.node(id === 1 ? 2 : 1).grpcAddr;
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('refuses auth enable without root, then enables it with root (etcdctl grants the root role)', async () => {
    const first = await ctl(follower, ['auth', 'enable']);
    expect(first.code).not.toBe(0);
    expect(first.stderr).toContain('etcdserver: root user does not exist');
    expect(await ok(follower, ['user', 'add', 'root:rootpw'])).toContain('User root created');
    expect(await ok(follower, ['auth', 'enable'])).toContain('Authentication Enabled');
    const anon = await ctl(leader, ['get', 'x']);
    expect(anon.stderr).toContain('etcdserver: user name is empty');
    const bad = await ctl(follower, ['--user', 'root:wrong', 'get', 'x']);
    expect(bad.stderr).toContain('etcdserver: authentication failed, invalid user ID or password');
  });

  it('grants a prefix to a role: alice reads and writes in it and is refused outside, via follower and leader', async () => {
    await ok(follower, [...ROOT, 'user', 'add', 'alice:alicepw']);
    await ok(leader, [...ROOT, 'role', 'add', 'app']);
    await ok(follower, [...ROOT, 'role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix']);
    await ok(leader, [...ROOT, 'user', 'grant-role', 'alice', 'app']);
    for (const ep of [follower, leader]) {
      expect(await ok(ep, [...ALICE, 'put', '/app/a', ep])).toContain('OK');
      expect(await ok(ep, [...ALICE, 'get', '/app/a', '--print-value-only'])).toBe(`${ep}\n`);
      const put = await ctl(ep, [...ALICE, 'put', '/other', 'v']);
      expect(put.stderr).toContain('etcdserver: permission denied');
      const get = await ctl(ep, [...ALICE, 'get', '/other']);
      expect(get.stderr).toContain('etcdserver: permission denied');
      const wide = await ctl(ep, [...ALICE, 'get', '/app', '--prefix']); // wider than the grant
      expect(wide.stderr).toContain('etcdserver: permission denied');
      const watch = await ctl(ep, [...ALICE, 'watch', '/other']);
      expect(watch.stdout + watch.stderr).toContain('watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)');
      expect((await ctl(ep, [...ALICE, 'endpoint', 'status'])).stderr).toContain('etcdserver: permission denied'); // root only, as etcd 3.4
      expect(await ok(ep, [...ROOT, 'endpoint', 'status'])).toContain(ep);
      const admin = await ctl(ep, [...ALICE, 'user', 'list']);
      expect(admin.stderr).toContain('etcdserver: permission denied');
      // Membership changes are root's: alice may list members but not remove one.
      expect(await ok(ep, [...ALICE, 'member', 'list'])).toContain('started');
      expect((await ctl(ep, [...ALICE, 'member', 'remove', '3'])).stderr).toContain('etcdserver: permission denied');
    }
    expect(await ok(leader, [...ROOT, 'role', 'get', 'app'])).toContain('[/app/, /app0) (prefix /app/)');
    expect(await ok(follower, [...ROOT, 'user', 'get', 'alice'])).toContain('Roles: app');
  });

  it('lets any authenticated user compact (etcd 3.4 checks no permission for Compact), through a follower', async () => {
    await ok(follower, [...ALICE, 'put', '/app/c', 'v1']);
    const out = JSON.parse(await ok(follower, [...ALICE, 'put', '/app/c', 'v2', '-w', 'json'])) as { header: { revision: number } };
    const rev = out.header.revision;
    expect(await ok(follower, [...ALICE, 'compact', String(rev)])).toContain(`compacted revision ${rev}`);
    const old = await ctl(leader, [...ALICE, 'get', '/app/c', `--rev=${rev - 1}`]);
    expect(old.stderr).toContain('etcdserver: mvcc: required revision has been compacted');
    expect(await ok(leader, [...ALICE, 'get', '/app/c', '--print-value-only'])).toBe('v2\n');
  });

  it('locks in the granted prefix only (etcdctl lock: a lease, a txn and a watch as alice)', async () => {
    expect(await ok(follower, [...ALICE, 'lock', '/app/lock', 'echo', 'held'])).toContain('held');
    const refused = await ctl(leader, [...ALICE, 'lock', '/other-lock', 'echo', 'held']);
    expect(refused.stdout).not.toContain('held');
    expect(refused.stderr).toContain('etcdserver: permission denied');
  });

  it('the server-side Lock service runs as the caller, through a follower', async () => {
    const auth = new AuthClient(follower, credentials.createInsecure());
    const lease = new LeaseClient(follower, credentials.createInsecure());
    const lock = new LockClient(follower, credentials.createInsecure());
    try {
      const { token } = await unary<{ token: string }>((cb) => auth.authenticate({ name: 'alice', password: 'alicepw' }, cb));
      const md = new Metadata();
      md.set('token', token);
      const { ID } = await unary<{ ID: number }>((cb) => lease.leaseGrant({ TTL: 5, ID: 0 }, md, cb));
      const held = await unary<{ key: Buffer }>((cb) => lock.lock({ name: Buffer.from('/app/svc'), lease: ID }, md, { deadline: Date.now() + 8000 }, cb));
      expect(held.key.toString()).toBe(`/app/svc/${ID.toString(16)}`);
      await unary((cb) => lock.unlock({ key: held.key }, md, cb));
      const err = await unary((cb) => lock.lock({ name: Buffer.from('/other'), lease: ID }, md, { deadline: Date.now() + 8000 }, cb)).then(() => null, (e: ServiceError) => e);
      expect(err?.code).toBe(7);
      expect(err?.details).toBe('etcdserver: permission denied');
    } finally {
      auth.close();
      lease.close();
      lock.close();
    }
  });

  it('a revoked role takes effect on every member at once', async () => {
    await ok(leader, [...ROOT, 'user', 'revoke-role', 'alice', 'app']);
    // No waiting: writes are checked again as they apply, linearizable reads after the read fence.
    for (const ep of all()) {
      expect((await ctl(ep, [...ALICE, 'put', '/app/b', 'v'])).stderr).toContain('etcdserver: permission denied');
      expect((await ctl(ep, [...ALICE, 'get', '/app/a'])).stderr).toContain('etcdserver: permission denied');
    }
    await ok(follower, [...ROOT, 'user', 'grant-role', 'alice', 'app']);
    for (const ep of all()) expect(await ok(ep, [...ALICE, 'get', '/app/a', '--print-value-only'])).toBe(`${leader}\n`);
  });

  it('simple tokens work on every member and expire after --auth_token_ttl without use', async () => {
    const auth = new AuthClient(follower, credentials.createInsecure());
    const kvs = all().map((a) => new KVClient(a, credentials.createInsecure()));
    try {
      const huge = await unary((cb) => auth.authenticate({ name: 'alice', password: 'x'.repeat(2000) }, cb)).then(() => null, (e: ServiceError) => e);
      expect(huge?.code).toBe(3); // refused before any hashing
      expect(huge?.details).toMatch(/password is 2000 bytes; the limit is 1024/);
      const { token } = await unary<{ token: string }>((cb) => auth.authenticate({ name: 'alice', password: 'alicepw' }, cb));
      expect(token).toMatch(/^[A-Za-z]{16}\.\d+$/);
      const md = new Metadata();
      md.set('token', token);
      const get = (kv: KVClient): Promise<RangeResponse> => unary((cb) => kv.range(RangeRequest.fromPartial({ key: Buffer.from('/app/a') }), md, { deadline: Date.now() + 5000 }, cb));
      for (const kv of kvs) expect((await get(kv)).kvs).toHaveLength(1);
      await new Promise((r) => setTimeout(r, (TOKEN_TTL_S + 1) * 1000));
      for (const kv of kvs) {
        const err = await get(kv).then(() => null, (e: ServiceError) => e);
        expect(err?.code).toBe(16); // UNAUTHENTICATED
        expect(err?.details).toBe('etcdserver: invalid auth token');
      }
      const forged = new Metadata();
      forged.set('token', 'AAAAAAAAAAAAAAAA.1');
      const err = await unary((cb) => kvs[0]!.range(RangeRequest.fromPartial({ key: Buffer.from('/app/a') }), forged, cb)).then(() => null, (e: ServiceError) => e);
      expect(err?.details).toBe('etcdserver: invalid auth token');
    } finally {
      auth.close();
      for (const kv of kvs) kv.close();
    }
  }, 20_000);

  it('a root caller\'s MoveLeader through a follower is forwarded with its identity; alice is refused', async () => {
    const followerId = [...c.nodes.keys()].find((id) => c.node(id).grpcAddr === follower)!;
    const target = [...c.nodes.keys()].find((id) => id !== leaderId && id !== followerId)!;
    const auth = new AuthClient(follower, credentials.createInsecure());
    const maint = new MaintenanceClient(follower, credentials.createInsecure());
    try {
      const as = async (name: string, password: string): Promise<Metadata> => {
        const { token } = await unary<{ token: string }>((cb) => auth.authenticate({ name, password }, cb));
        const md = new Metadata();
        md.set('token', token);
        return md;
      };
      const alice = await as('alice', 'alicepw');
      const denied = await unary((cb) => maint.moveLeader({ targetID: target }, alice, { deadline: Date.now() + 10_000 }, cb)).then(() => null, (e: ServiceError) => e);
      expect(denied?.details).toContain('etcdserver: permission denied');
      const root = await as('root', 'rootpw');
      await unary((cb) => maint.moveLeader({ targetID: target }, root, { deadline: Date.now() + 10_000 }, cb));
      // raftkv's own Cluster API is root-only now: ask etcd's Status, as root, until the target leads.
      const until = Date.now() + 10_000;
      let seen = 0;
      while (seen !== target && Date.now() < until) {
        seen = (await unary<{ leader: number }>((cb) => maint.status({}, root, { deadline: Date.now() + 2000 }, cb))).leader;
        if (seen !== target) await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen).toBe(target);
    } finally {
      auth.close();
      maint.close();
    }
    leader = c.node(target).grpcAddr;
    leaderId = target;
  }, 30_000);

  it('disabling auth opens the keyspace again', async () => {
    expect((await ctl(follower, [...ALICE, 'auth', 'disable'])).stderr).toContain('etcdserver: permission denied');
    expect(await ok(follower, [...ROOT, 'auth', 'disable'])).toContain('Authentication Disabled');
    expect(await ok(leader, ['get', '/other', '--print-value-only'])).toBe('');
    expect(await ok(leader, ['put', '/other', 'free'])).toContain('OK');
  });
});
