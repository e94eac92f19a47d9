/**
 * Case "million" of `npm run bench:scale`: a 3-member cluster holding N keys (default 1,000,000,
 * 256-byte values). Measures, in order: the load (Txns of 128 puts from 16 clients to the leader)
 * and until every member has applied it; each member's resident memory; etcd's Maintenance.Snapshot
 * streamed from the leader (size, time) — raftkv serves the same call — and raftkv's own raft
 * snapshot taken on request; a follower killed (SIGKILL) and restarted on its data until it answers
 * a serializable count of all N keys; a new member (MemberAdd as learner, then started) from its
 * start until its serializable count and revision equal the leader's.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { rssBytes, stopMember } from './clusters.js';
import { EtcdApi, FAST_RECONNECT } from './etcd-api.js';
import { joinMember } from './join-member.js';
import { raftkvSnapshot } from './raftkv-admin.js';
import { keyOf, progress, round, timeUntil, type Running } from './scale-common.js';

const PREFIX = 'm/';
const VALUE_BYTES = 256;
/** etcd's default --max-txn-ops, and raftkv's Limits.txnOpsMax. */
const TXN_PUTS = 128;
const LOADERS = 16;
/** Values are cut from this random pool at far-apart offsets: no two neighbours alike (LevelDB compresses blocks). */
const VALUE_POOL_BYTES = 4 * 1024 * 1024;
const VALUE_STRIDE_BYTES = 4099;
const TXN_TIMEOUT_MS = 60_000;
/** Counting a million keys is a scan on both systems: give each poll time. */
const COUNT_TIMEOUT_MS = 60_000;
const SLOW_TIMEOUT_MS = 30 * 60_000;
const POLL_MS = 50;

export interface MillionResult {
  keys: number;
  loadS: number;
  loadKeysPerSec: number;
  /** From the end of the load until every member's serializable count is N. */
  replicatedMs: number;
  rssMiB: number[];
  /** -1 when the snapshot failed (see errors). */
  snapshotBytes: number;
  snapshotMs: number;
  /** raftkv only: its own raft snapshot, taken on request on the leader. */
  raftSnapshot?: { bytes: number; ms: number; index: number };
  /** SIGKILL of a follower, restart on its data: until it answers a serializable get / counts all N keys. */
  restartFirstAnswerMs: number;
  restartServingMs: number;
  restartedRssMiB: number;
  /** After MemberAdd (learner): from its start until its serializable count and revision equal the leader's. */
  catchUpMs: number;
  joinerRssMiB: number;
  /** Steps that failed without ending the case. */
  errors: string[];
}

const mib = (bytes: number): number => round(bytes / (1024 * 1024), 1);

async function load(r: Running, keys: number): Promise<number> {
  const leader = r.apis[r.leader]!;
  const pool = randomBytes(VALUE_POOL_BYTES);
  const valueAt = (i: number): Buffer => {
    const off = (i * VALUE_STRIDE_BYTES) % (VALUE_POOL_BYTES - VALUE_BYTES);
    return pool.subarray(off, off + VALUE_BYTES);
  };
  const batches = Math.ceil(keys / TXN_PUTS);
  let next = 0;
  let reported = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: LOADERS }, async () => {
    while (next < batches) {
      const b = next++;
      const pairs = [];
      for (let i = b * TXN_PUTS; i < Math.min(keys, (b + 1) * TXN_PUTS); i++) pairs.push({ key: keyOf(PREFIX, i), value: valueAt(i) });
      await leader.txnPuts(pairs, TXN_TIMEOUT_MS);
      if (b - reported >= batches / 10) {
        reported = b;
        progress(`${r.c.system} million: loaded ~${Math.round((b / batches) * 100)}%`);
      }
    }
  }));
  return (performance.now() - t0) / 1000;
}

async function countIs(api: EtcdApi, keys: number, minRevision = 0): Promise<boolean> {
  const c = await api.countPrefix(Buffer.from(PREFIX), true, COUNT_TIMEOUT_MS);
  return c.count === keys && c.revision >= minRevision;
}

/** SIGKILL the member, restart it on its data; time until it answers, and until it has all keys. */
async function restartFollower(r: Running, f: number, keys: number): Promise<{ firstMs: number; servingMs: number }> {
  const m = r.c.members[f]!;
  await stopMember(m, 'SIGKILL');
  const poll = new EtcdApi(m.endpoint, FAST_RECONNECT);
  try {
    const t0 = performance.now();
    m.restart();
    // First any answer (a serializable get of one key: cheap), then the count of every key (a scan).
    await timeUntil(async () => { await poll.get(keyOf(PREFIX, 0), true, COUNT_TIMEOUT_MS); return true; }, SLOW_TIMEOUT_MS, POLL_MS, `${r.c.system}: restarted ${m.name} answering`);
    const firstMs = performance.now() - t0;
    await timeUntil(() => countIs(poll, keys), SLOW_TIMEOUT_MS, POLL_MS, `${r.c.system}: restarted ${m.name} serving ${keys} keys`);
    return { firstMs, servingMs: performance.now() - t0 };
  } finally {
    poll.close();
  }
}

async function catchUp(r: Running, keys: number): Promise<{ ms: number; rss: number }> {
  const leader = r.apis[r.leader]!;
  const { revision } = await leader.countPrefix(Buffer.from(PREFIX), false, COUNT_TIMEOUT_MS);
  const m = await joinMember(r.c, leader);
  const t0 = performance.now();
  const poll = new EtcdApi(m.endpoint, FAST_RECONNECT);
  try {
    await timeUntil(() => countIs(poll, keys, revision), SLOW_TIMEOUT_MS, POLL_MS, `${r.c.system}: new member ${m.name} caught up`);
    return { ms: performance.now() - t0, rss: rssBytes(m.proc?.pid) };
  } finally {
    poll.close();
  }
}

export async function millionCase(r: Running, keys: number): Promise<MillionResult> {
  const sys = r.c.system;
  const loadS = await load(r, keys);
  progress(`${sys} million: ${keys} keys loaded in ${round(loadS)} s`);
  const replicatedMs = await timeUntil(async () => (await Promise.all(r.apis.map((a) => countIs(a, keys)))).every(Boolean), SLOW_TIMEOUT_MS, 200, `${sys}: every member applied ${keys} keys`);
  const rssMiB = r.c.members.map((m) => mib(rssBytes(m.proc?.pid)));
  progress(`${sys} million: every member has them ${Math.round(replicatedMs)} ms later; RSS ${rssMiB.join(' / ')} MiB`);

  // A failed snapshot is recorded and the case goes on: restart and catch-up do not depend on it.
  let snapshotBytes = -1;
  let snapshotMs = -1;
  const errors: string[] = [];
  try {
    const s0 = performance.now();
    snapshotBytes = await r.apis[r.leader]!.snapshotBytes(SLOW_TIMEOUT_MS);
    snapshotMs = performance.now() - s0;
    progress(`${sys} million: Maintenance.Snapshot ${mib(snapshotBytes)} MiB in ${Math.round(snapshotMs)} ms`);
  } catch (e) {
    errors.push(`Maintenance.Snapshot: ${(e as Error).message}`);
  }
  let raftSnapshot: MillionResult['raftSnapshot'];
  if (sys === 'raftkv') {
    try {
      const t0 = performance.now();
      const s = await raftkvSnapshot(r.c.members[r.leader]!.endpoint, SLOW_TIMEOUT_MS);
      raftSnapshot = { bytes: s.sizeBytes, ms: Math.round(performance.now() - t0), index: s.index };
      progress(`${sys} million: raft snapshot at index ${s.index}, ${mib(s.sizeBytes)} MiB in ${raftSnapshot.ms} ms`);
    } catch (e) {
      errors.push(`raft snapshot: ${(e as Error).message}`);
    }
  }
  for (const e of errors) progress(`${sys} million: ${e}`);

  const f = (r.leader + 1) % r.c.members.length;
  const restart = await restartFollower(r, f, keys);
  const restartedRssMiB = mib(rssBytes(r.c.members[f]!.proc?.pid));
  progress(`${sys} million: follower restarted, first answer ${Math.round(restart.firstMs)} ms, all keys ${Math.round(restart.servingMs)} ms, RSS ${restartedRssMiB} MiB`);

  const join = await catchUp(r, keys);
  progress(`${sys} million: new member caught up in ${Math.round(join.ms)} ms, RSS ${mib(join.rss)} MiB`);
  return {
    keys, loadS: round(loadS), loadKeysPerSec: Math.round(keys / loadS), replicatedMs: Math.round(replicatedMs), rssMiB,
    snapshotBytes, snapshotMs: Math.round(snapshotMs), ...(raftSnapshot !== undefined ? { raftSnapshot } : {}),
    restartFirstAnswerMs: Math.round(restart.firstMs), restartServingMs: Math.round(restart.servingMs), restartedRssMiB,
    catchUpMs: Math.round(join.ms), joinerRssMiB: mib(join.rss), errors,
  };
}
