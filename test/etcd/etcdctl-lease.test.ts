/**
 * Acceptance: Debian's etcdctl 3.4 leases, locks and elections against a 3-node raftkv cluster formed
 * through gossip, every command through a follower; and etcd's Lock and Election gRPC services
 * (v3lockpb, v3electionpb) contending with etcdctl's client-side recipes on the same names, which
 * must exclude each other. Skipped when etcdctl is not installed (.ci/run installs etcd-client).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseClient } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { ElectionClient, type LeaderKey } from '../../src/gen/etcd/v3electionpb/v3election.js';
import { LockClient } from '../../src/gen/etcd/v3lockpb/v3lock.js';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';

const ETCDCTL = 'etcdctl';
const HAVE_ETCDCTL = spawnSync(ETCDCTL, ['version'], { stdio: 'ignore' }).status === 0;
if (!HAVE_ETCDCTL) console.warn('test/etcd/etcdctl-lease.test.ts skipped: etcdctl is not installed (apt-get install etcd-client)');

const ENV = { ...process.env, ETCDCTL_API: '3' };
const B = (s: string): Buffer => Buffer.from(s);

interface CtlResult { readonly code: number; readonly stdout: string; readonly stderr: string }

function ctl(endpoint: string, args: string[]): Promise<CtlResult> {
  return new Promise((resolve) => {
    execFile(ETCDCTL, [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=8s', ...args], { env: ENV, timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: unknown }).code as number) || 1 : 0, stdout, stderr }),
    );
  });
}

/** A long-running etcdctl (keep-alive, lock, elect) whose output the test reads as it comes. */
interface Running { readonly proc: ChildProcess; out(): string }

describe.skipIf(!HAVE_ETCDCTL)('etcdctl 3.4 leases, locks and elections against a gossip-formed raftkv cluster', () => {
  let c: GossipCluster;
  let follower = '';
  const running: ChildProcess[] = [];
  const closers: Array<() => void> = [];

  const start = (args: string[]): Running => {
    const proc = spawn(ETCDCTL, [`--endpoints=${follower}`, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(proc);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { proc, out: () => out };
  };
  const exited = (p: ChildProcess): Promise<void> => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r())));
  const unary = <Res>(f: (cb: (e: ServiceError | null, r?: Res) => void) => void): Promise<Res> =>
    new Promise((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r as Res))));

  beforeAll(async () => {
    c = await GossipCluster.create(3);
    await Promise.all([1, 2, 3].map((id) => c.spawn(id, ['--bootstrap_expect=3'])));
    let leaderId = 0;
    await c.waitFor(async () => {
      const m = await c.members(1);
      leaderId = m.header.leaderId;
      return m.members.filter((x) => x.suffrage === 'voter').length === 3 && leaderId !== 0;
    }, 30_000, 'a 3-voter cluster with a leader');
    follower = c.node([1, 2, 3].find((id) => id !== leaderId)!).grpcAddr;
  }, 60_000);

  afterAll(async () => {
    for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const close of closers) close();
    await c?.stop();
  });

  it('grants, attaches, lists, renews, inspects and revokes leases, with etcd texts for errors', async () => {
    // 20 ms ticks x 10: etcd's minimum TTL is ceil(15 x 20 ms) = 1 s.
    expect((await ctl(follower, ['lease', 'grant', '0'])).stdout).toMatch(/^lease [0-9a-f]+ granted with TTL\(1s\)$/m);
    const granted = await ctl(follower, ['lease', 'grant', '60']);
    const id = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/m.exec(granted.stdout)?.[1];
    expect(id, granted.stdout + granted.stderr).toBeDefined();
    expect((await ctl(follower, ['put', '--lease', id!, '/l/a', '1'])).code).toBe(0);
    expect((await ctl(follower, ['put', '--lease', id!, '/l/b', '2'])).code).toBe(0);
    const ttl = await ctl(follower, ['lease', 'timetolive', '--keys', id!]);
    expect(ttl.stdout).toMatch(new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\(([5-6][0-9])s\\), attached keys\\(\\[/l/a /l/b\\]\\)`, 'm'));
    expect((await ctl(follower, ['lease', 'list'])).stdout).toContain(id!);
    expect((await ctl(follower, ['lease', 'keep-alive', '--once', id!])).stdout).toContain(`lease ${id} keepalived with TTL(60)`);
    expect((await ctl(follower, ['lease', 'revoke', id!])).stdout).toContain(`lease ${id} revoked`);
    expect((await ctl(follower, ['get', '--prefix', '/l/'])).stdout).toBe('');
    expect((await ctl(follower, ['lease', 'timetolive', id!])).stdout).toContain(`lease ${id} already expired`);

    expect((await ctl(follower, ['lease', 'revoke', id!])).stderr).toContain('Error: failed to revoke lease (etcdserver: requested lease not found)');
    expect((await ctl(follower, ['lease', 'keep-alive', '--once', id!])).stderr).toContain('Error: etcdserver: requested lease not found');
    expect((await ctl(follower, ['put', '--lease', id!, '/l/c', '3'])).stderr).toContain('etcdserver: requested lease not found');
    expect((await ctl(follower, ['lease', 'grant', '9000000001'])).stderr).toContain('Error: failed to grant lease (etcdserver: too large lease TTL)');
  });

  it('keeps a lease alive with keep-alive, and lets it expire once keep-alive is killed', async () => {
    const id = /lease ([0-9a-f]+) granted/.exec((await ctl(follower, ['lease', 'grant', '2'])).stdout)?.[1];
    expect(id).toBeDefined();
    await ctl(follower, ['put', '--lease', id!, '/ka', 'alive']);
    const ka = start(['lease', 'keep-alive', id!]);
    await c.waitFor(() => ka.out().includes('keepalived'), 10_000, 'keep-alive to renew');
    // Three TTLs later the key is still there.
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      expect((await ctl(follower, ['get', '/ka', '--print-value-only'])).stdout.trim()).toBe('alive');
      await new Promise((r) => setTimeout(r, 300));
    }
    ka.proc.kill('SIGKILL');
    await exited(ka.proc);
    await c.waitFor(async () => (await ctl(follower, ['get', '/ka'])).stdout === '', 10_000, 'the key to go with its lease');
  }, 30_000);

  it('lock: a second etcdctl holder waits until the first releases', async () => {
    const first = start(['lock', 'L1']);
    await c.waitFor(() => /^L1\/[0-9a-f]+$/m.test(first.out()), 10_000, 'the first holder to print its key');
    const second = start(['lock', 'L1', 'echo', 'second-holds']);
    // The second has queued its key behind the first's ...
    await c.waitFor(async () => (await ctl(follower, ['get', '--prefix', 'L1/', '--keys-only'])).stdout.trim().split('\n').filter(Boolean).length === 2, 10_000, 'two keys under L1/');
    expect(second.out()).not.toContain('second-holds');
    first.proc.kill('SIGINT'); // etcdctl unlocks on interrupt
    await exited(second.proc);
    expect(second.out()).toContain('second-holds');
  }, 30_000);

  it("the Lock service and etcdctl's client-side mutex exclude each other", async () => {
    const lease = new LeaseClient(follower, credentials.createInsecure());
    const lock = new LockClient(follower, credentials.createInsecure());
    closers.push(() => lease.close(), () => lock.close());
    const g = await unary<{ ID: number }>((cb) => lease.leaseGrant({ TTL: 30, ID: 0 }, cb));

    // The service holds L2; etcdctl's mutex queues behind it.
    const held = await unary<{ key: Buffer }>((cb) => lock.lock({ name: B('L2'), lease: g.ID }, cb));
    expect(held.key.toString()).toBe(`L2/${g.ID.toString(16)}`);
    const ctlWaiter = start(['lock', 'L2', 'echo', 'ctl-holds']);
    await c.waitFor(async () => (await ctl(follower, ['get', '--prefix', 'L2/', '--keys-only'])).stdout.trim().split('\n').filter(Boolean).length === 2, 10_000, 'etcdctl queued under L2/');
    expect(ctlWaiter.out()).not.toContain('ctl-holds');
    await unary((cb) => lock.unlock({ key: held.key }, cb));
    await exited(ctlWaiter.proc);
    expect(ctlWaiter.out()).toContain('ctl-holds');

    // etcdctl holds L3; the service's Lock waits for it.
    const ctlHolder = start(['lock', 'L3']);
    await c.waitFor(() => /^L3\/[0-9a-f]+$/m.test(ctlHolder.out()), 10_000, 'etcdctl to hold L3');
    let acquired = false;
    const waiting = unary<{ key: Buffer }>((cb) => lock.lock({ name: B('L3'), lease: g.ID }, cb)).then((r) => ((acquired = true), r));
    await c.waitFor(async () => (await ctl(follower, ['get', '--prefix', 'L3/', '--keys-only'])).stdout.includes(`L3/${g.ID.toString(16)}`), 10_000, 'the service queued under L3/');
    expect(acquired).toBe(false);
    ctlHolder.proc.kill('SIGINT');
    expect((await waiting).key.toString()).toBe(`L3/${g.ID.toString(16)}`);

    // A lease that ends takes its lock key (and so the lock) with it.
    await unary((cb) => lease.leaseRevoke({ ID: g.ID }, cb));
    expect((await ctl(follower, ['get', '--prefix', 'L3/'])).stdout).toBe('');
  }, 40_000);

  it('elect: etcdctl and the Election service take turns; observers see each leader', async () => {
    const lease = new LeaseClient(follower, credentials.createInsecure());
    const election = new ElectionClient(follower, credentials.createInsecure());
    closers.push(() => lease.close(), () => election.close());
    const observer = start(['elect', '-l', 'E1']);
    const alpha = start(['elect', 'E1', 'alpha']);
    await c.waitFor(() => /^E1\/[0-9a-f]+\nalpha$/m.test(alpha.out()), 10_000, 'etcdctl to win with alpha');

    const g = await unary<{ ID: number }>((cb) => lease.leaseGrant({ TTL: 30, ID: 0 }, cb));
    let won = false;
    const campaign = unary<{ leader?: LeaderKey | undefined }>((cb) => election.campaign({ name: B('E1'), lease: g.ID, value: B('beta') }, cb)).then((r) => ((won = true), r));
    await c.waitFor(async () => (await ctl(follower, ['get', '--prefix', 'E1/', '--keys-only'])).stdout.includes(`E1/${g.ID.toString(16)}`), 10_000, 'the service campaigning');
    expect(won).toBe(false);
    const leaderNow = await unary<{ kv?: { value: Buffer } | undefined }>((cb) => election.leader({ name: B('E1') }, cb));
    expect(leaderNow.kv?.value.toString()).toBe('alpha');

    alpha.proc.kill('SIGINT'); // etcdctl resigns on interrupt
    const leader = (await campaign).leader!;
    expect(leader.key.toString()).toBe(`E1/${g.ID.toString(16)}`);
    await unary((cb) => election.proclaim({ leader, value: B('gamma') }, cb));
    await c.waitFor(() => /alpha\n[^]*E1\/[0-9a-f]+\nbeta\n[^]*gamma/.test(observer.out()), 10_000, `the observer to see alpha, beta, gamma; got ${JSON.stringify(observer.out())}`);

    await unary((cb) => election.resign({ leader }, cb));
    const notLeader = await unary((cb) => election.proclaim({ leader, value: B('delta') }, cb)).then(() => null, (e: ServiceError) => e);
    expect({ code: notLeader?.code, details: notLeader?.details }).toEqual({ code: status.UNKNOWN, details: 'election: not leader' });
    const none = await unary((cb) => election.leader({ name: B('E1') }, cb)).then(() => null, (e: ServiceError) => e);
    expect(none?.details).toBe('election: no leader');
    observer.proc.kill('SIGINT');
  }, 40_000);
});
