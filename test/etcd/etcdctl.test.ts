/**
 * Acceptance: Debian's etcdctl 3.4 (a client nobody here wrote) against a 3-node raftkv cluster formed
 * through gossip, through a follower and through the leader. Skipped when etcdctl is not installed
 * (.ci/run installs Debian's etcd-client).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';

const ETCDCTL = 'etcdctl';
const HAVE_ETCDCTL = spawnSync(ETCDCTL, ['version'], { stdio: 'ignore' }).status === 0;
if (!HAVE_ETCDCTL) console.warn('test/etcd/etcdctl.test.ts skipped: etcdctl is not installed (apt-get install etcd-client)');

const CTL_TIMEOUT_MS = 15_000;

interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function ctl(endpoint: string, args: string[], input?: string): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ETCDCTL,
      [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=8s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: CTL_TIMEOUT_MS },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: unknown }).code as number) || 1 : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

/** Runs etcdctl with -w json and parses its output; fails the test with etcdctl's stderr otherwise. */
async function ctlJson<T = Record<string, unknown>>(endpoint: string, args: string[], input?: string): Promise<T> {
  const r = await ctl(endpoint, ['-w', 'json', ...args], input);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString();

interface Kv { key: string; value?: string; create_revision: number; mod_revision: number; version: number }
interface Header { cluster_id: number; member_id: number; revision: number; raft_term: number }
interface RangeJson { header: Header; kvs?: Kv[]; more?: boolean; count?: number }

describe.skipIf(!HAVE_ETCDCTL)('etcdctl 3.4 against a gossip-formed raftkv cluster', () => {
  let c: GossipCluster;
  let leaderAddr = '';
  let followerAddr = '';
  let leaderId = 0;
  let followerId = 0;
  const watchers: ChildProcess[] = [];

  beforeAll(async () => {
    c = await GossipCluster.create(3);
    await Promise.all([1, 2, 3].map((id) => c.spawn(id, ['--bootstrap_expect=3'])));
    await c.waitFor(async () => {
      const m = await c.members(1);
      leaderId = m.header.leaderId;
      return m.members.filter((x) => x.suffrage === 'voter').length === 3 && leaderId !== 0;
    }, 30_000, 'a 3-voter cluster with a leader');
    followerId = [1, 2, 3].find((id) => id !== leaderId) ?? 0;
    leaderAddr = c.node(leaderId).grpcAddr;
    followerAddr = c.node(followerId).grpcAddr;
  }, 60_000);

  afterAll(async () => {
    for (const w of watchers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await c?.stop();
  });

  it('puts through a follower and reads through the leader, with etcd headers', async () => {
    const put = await ctlJson<{ header: Header }>(followerAddr, ['put', '/app/a', 'one']);
    expect(put.header.revision).toBeGreaterThan(0);
    expect(put.header.cluster_id).toBeGreaterThan(0);
    expect(put.header.raft_term).toBeGreaterThan(0);
    // The follower forwarded the write; the leader answered it.
    expect(put.header.member_id).toBe(leaderId);
    await ctlJson(followerAddr, ['put', '/app/b', 'two']);
    await ctlJson(leaderAddr, ['put', '/app/c', 'three']);
    await ctlJson(leaderAddr, ['put', '/app/a', 'one-again']);

    const all = await ctlJson<RangeJson>(leaderAddr, ['get', '/app/', '--prefix']);
    expect(all.kvs?.map((k) => unb64(k.key))).toEqual(['/app/a', '/app/b', '/app/c']);
    expect(all.kvs?.map((k) => unb64(k.value))).toEqual(['one-again', 'two', 'three']);
    expect(all.count).toBe(3);
    expect(all.kvs?.[0]?.version).toBe(2);
    expect(all.header.member_id).toBe(leaderId);

    const viaFollower = await ctlJson<RangeJson>(followerAddr, ['get', '/app/', '--prefix']);
    expect(viaFollower.kvs?.map((k) => unb64(k.value))).toEqual(['one-again', 'two', 'three']);
    expect(viaFollower.header.member_id).toBe(followerId);
    const serializable = await ctlJson<RangeJson>(followerAddr, ['get', '/app/b', '--consistency=s']);
    expect(unb64(serializable.kvs?.[0]?.value)).toBe('two');
  });

  it('gets with limit, keys-only, sort and rev as etcd does', async () => {
    const limited = await ctlJson<RangeJson>(followerAddr, ['get', '/app/', '--prefix', '--limit=1']);
    expect(limited.kvs?.length).toBe(1);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(3);

    const keysOnly = await ctlJson<RangeJson>(leaderAddr, ['get', '/app/', '--prefix', '--keys-only']);
    expect(keysOnly.kvs?.map((k) => unb64(k.key))).toEqual(['/app/a', '/app/b', '/app/c']);
    expect(keysOnly.kvs?.every((k) => k.value === undefined)).toBe(true);

    // /app/a was written last: newest first by mod revision, and with a limit the count stays whole.
    const byMod = await ctlJson<RangeJson>(followerAddr, ['get', '/app/', '--prefix', '--sort-by=MODIFY', '--order=DESCEND', '--limit=2']);
    expect(byMod.kvs?.map((k) => unb64(k.key))).toEqual(['/app/a', '/app/c']);
    expect(byMod.more).toBe(true);
    expect(byMod.count).toBe(3);
    const byKeyDesc = await ctlJson<RangeJson>(leaderAddr, ['get', '/app/', '--prefix', '--sort-by=KEY', '--order=DESCEND']);
    expect(byKeyDesc.kvs?.map((k) => unb64(k.key))).toEqual(['/app/c', '/app/b', '/app/a']);

    const current = (await ctlJson<RangeJson>(leaderAddr, ['get', '/app/a'])).header.revision;
    const atCurrent = await ctlJson<RangeJson>(followerAddr, ['get', '/app/a', `--rev=${current}`]);
    expect(unb64(atCurrent.kvs?.[0]?.value)).toBe('one-again');
    // Every version is kept until a compaction (test/etcd/etcdctl-mvcc.test.ts covers that).
    const old = await ctlJson<RangeJson>(followerAddr, ['get', '/app/a', `--rev=${current - 1}`]);
    expect(unb64(old.kvs?.[0]?.value)).toBe('one');
    const future = await ctl(leaderAddr, ['get', '/app/a', `--rev=${current + 1000}`]);
    expect(future.stderr).toContain('etcdserver: mvcc: required revision is a future revision');
  });

  it('runs a txn read from stdin, taking the failure branch and then the success branch', async () => {
    const input = ['value("/t/k") = "v1"', '', 'put /t/k won', '', 'put /t/k lost', 'get /t/k', '', ''].join('\n');
    const first = await ctlJson<{ header: Header; succeeded?: boolean; responses: unknown[] }>(followerAddr, ['txn'], input);
    expect(first.succeeded ?? false).toBe(false); // a value compare on a missing key is false
    expect(first.responses.length).toBe(2);
    // The failure branch wrote "lost" (version 1); this makes version 2 and the success branch version 3.
    await ctlJson(leaderAddr, ['put', '/t/k', 'v1']);
    const second = await ctlJson<{ succeeded?: boolean }>(followerAddr, ['txn'], input);
    expect(second.succeeded).toBe(true);
    expect(unb64((await ctlJson<RangeJson>(leaderAddr, ['get', '/t/k'])).kvs?.[0]?.value)).toBe('won');

    const versions = ['ver("/t/k") = "3"', 'mod("/t/k") > "0"', 'create("/t/k") > "0"', '', 'put /t/ok yes', '', '', ''].join('\n');
    const third = await ctl(followerAddr, ['txn'], versions);
    expect(third.stdout.split('\n')[0]).toBe('SUCCESS');
  });

  it('watches a prefix in a child process and receives puts and deletes', async () => {
    const start = (await ctlJson<RangeJson>(leaderAddr, ['get', '/app/a'])).header.revision + 1;
    // Watching from a revision makes the test independent of when the watch is established.
    const w = spawn(ETCDCTL, [`--endpoints=${followerAddr}`, 'watch', '/w/', '--prefix', `--rev=${start}`, '--prev-kv'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    watchers.push(w);
    let out = '';
    w.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await ctlJson(leaderAddr, ['put', '/w/1', 'first']);
    await ctlJson(followerAddr, ['put', '/w/1', 'second']);
    await ctlJson(followerAddr, ['del', '/w/1']);
    await c.waitFor(() => out.split('\n').filter((l) => l === 'DELETE').length === 1, 10_000, `watch output to show the delete; got ${JSON.stringify(out)}`);
    const lines = out.trim().split('\n');
    // etcdctl prints each event as TYPE, (prev key, prev value,) key, value.
    expect(lines.slice(0, 3)).toEqual(['PUT', '/w/1', 'first']);
    expect(lines.slice(3, 8)).toEqual(['PUT', '/w/1', 'first', '/w/1', 'second']);
    expect(lines.slice(8, 11)).toEqual(['DELETE', '/w/1', 'second']);
    w.kill('SIGKILL');
  });

  it('deletes a prefix through a follower with prev-kv', async () => {
    const del = await ctlJson<{ header: Header; deleted: number; prev_kvs: Kv[] }>(followerAddr, ['del', '/app/', '--prefix', '--prev-kv']);
    expect(del.deleted).toBe(3);
    expect(del.prev_kvs.map((k) => unb64(k.key))).toEqual(['/app/a', '/app/b', '/app/c']);
    const after = await ctlJson<RangeJson>(leaderAddr, ['get', '/app/', '--prefix']);
    expect(after.kvs ?? []).toEqual([]);
    expect(after.header.revision).toBe(del.header.revision);
  });

  it('lists members and reports endpoint status from every member', async () => {
    const list = await ctlJson<{ header: Header; members: Array<{ ID: number; name: string; peerURLs: string[]; clientURLs: string[] }> }>(followerAddr, ['member', 'list']);
    expect(list.members.map((m) => m.ID).sort()).toEqual([1, 2, 3]);
    for (const m of list.members) expect(m.clientURLs).toEqual([`http://${c.node(m.ID).grpcAddr}`]);

    const endpoints = [1, 2, 3].map((id) => c.node(id).grpcAddr).join(',');
    const status = await ctlJson<Array<{ Endpoint: string; Status: { header: Header; leader: number; raftTerm: number; raftIndex: number; raftAppliedIndex: number; version: string } }>>(endpoints, ['endpoint', 'status']);
    expect(status.length).toBe(3);
    for (const s of status) {
      expect(s.Status.leader).toBe(leaderId);
      expect(s.Status.raftIndex).toBeGreaterThan(0);
      expect(s.Status.header.member_id).toBe([1, 2, 3].find((id) => c.node(id).grpcAddr === s.Endpoint));
    }
    const table = await ctl(endpoints, ['endpoint', 'status', '-w', 'table']);
    const rows = table.stdout.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').map((x) => x.trim()));
    const isLeader = rows[0]?.indexOf('IS LEADER') ?? -1;
    expect(isLeader, table.stdout + table.stderr).toBeGreaterThan(0);
    expect(rows.slice(1).map((r) => r[isLeader]).sort(), table.stdout).toEqual(['false', 'false', 'true']);
  });
});
