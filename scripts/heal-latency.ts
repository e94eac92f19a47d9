/**
 * `npm run heal-latency`: how long after a partition heals does a cut-off follower catch up?
 *
 *   npm run heal-latency -- --partition_s 30 --trials 3
 *
 * Three `raftkv serve` processes, each in its own network namespace (root, `ip` and `nft` needed;
 * see test/faults/netns.ts). Per trial: isolate a follower for --partition_s while the leader keeps
 * committing writes, heal, write once more through the leader, and time until the follower serves
 * that write from its own state (a stale read): raft replication resumed. At the same time, time
 * until a write sent to the follower (which forwards it to the leader over gRPC) first succeeds:
 * forwarding resumed. Prints one line per trial and a JSON summary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { SeededRandom } from '../src/common/random.js';
import { Consistency, KVClient, type GetResponse, type PutResponse } from '../src/gen/raftkv/v1/kv.js';
import { FaultCluster, unary, waitUntil } from '../test/faults/cluster.js';
import { netnsUnavailableReason } from '../test/faults/netns.js';
import { cutBetween } from '../test/faults/network.js';

const CALL_MS = 2_000;
const CATCH_UP_MS_MAX = 180_000;
const WRITE_GAP_MS = 50;

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

interface TrialResult {
  readonly replicationS: number;
  readonly forwardingS: number;
}

async function trial(c: FaultCluster, partitionS: number, n: number): Promise<TrialResult> {
  let leader = 0;
  await waitUntil(async () => (leader = await c.leaderId()) !== 0, 30_000, 'a leader');
  const follower = c.ids.find((x) => x !== leader)!;
  const kvLeader = new KVClient(c.grpcAddr(leader), credentials.createInsecure());
  const kvFollower = new KVClient(c.grpcAddr(follower), credentials.createInsecure());
  const putVia = (kv: KVClient, key: string, value: string): Promise<PutResponse> =>
    unary((cb) => kv.put({ key: Buffer.from(key), value: Buffer.from(value), prevKv: false }, new Metadata(), { deadline: Date.now() + CALL_MS }, cb));
  const put = (value: string): Promise<PutResponse> => putVia(kvLeader, 'heal', value);
  try {
    await put(`before-${n}`);
    await cutBetween(c.net, [follower], c.ids.filter((x) => x !== follower));
    const cutAt = performance.now();
    // Keep the leader sending to the follower, and the follower forwarding to the leader, so both
    // connections have unacknowledged data in flight.
    while (performance.now() - cutAt < partitionS * 1000) {
      await Promise.all([put(`during-${n}-${Date.now()}`).catch(() => undefined), putVia(kvFollower, 'fwd', 'during').catch(() => undefined)]);
      await new Promise((r) => setTimeout(r, WRITE_GAP_MS));
    }
    await c.net.heal();
    const healedAt = performance.now();
    const forwarding = waitUntil(async () => (await putVia(kvFollower, 'fwd', `after-${n}`), true), CATCH_UP_MS_MAX, 'a forwarded write').then(() => (performance.now() - healedAt) / 1000);
    const marker = `after-${n}`;
    await put(marker);
    await waitUntil(
      async () => {
        const r = await unary<GetResponse>((cb) => kvFollower.get({ key: Buffer.from('heal'), consistency: Consistency.CONSISTENCY_STALE }, new Metadata(), { deadline: Date.now() + CALL_MS }, cb));
        return r.kv?.value.toString() === marker;
      },
      CATCH_UP_MS_MAX,
      `follower ${follower} to catch up`,
    );
    const replicationS = (performance.now() - healedAt) / 1000;
    return { replicationS, forwardingS: await forwarding };
  } finally {
    kvLeader.close();
    kvFollower.close();
  }
}

async function main(): Promise<void> {
  const partitionS = flag('partition_s', 30);
  const trials = flag('trials', 1);
  const why = await netnsUnavailableReason();
  if (why !== null) throw new Error(`heal-latency needs network namespaces: ${why}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'raftkv-heal-'));
  const c = await FaultCluster.start({ size: 3, dataDir, tickMs: 20, electionTicks: 10, snapshotEntries: 100_000, random: new SeededRandom(1), network: 'netns' });
  const results: TrialResult[] = [];
  try {
    for (let n = 1; n <= trials; n++) {
      const s = await trial(c, partitionS, n);
      results.push(s);
      process.stderr.write(
        `trial ${n}: follower cut off for ${partitionS} s served the post-heal write ${s.replicationS.toFixed(2)} s after the heal; ` +
          `its first forwarded write succeeded ${s.forwardingS.toFixed(2)} s after the heal\n`,
      );
    }
  } finally {
    await c.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const round = (x: number): number => Number(x.toFixed(2));
  process.stdout.write(`${JSON.stringify({ partitionS, replicationS: results.map((r) => round(r.replicationS)), forwardingS: results.map((r) => round(r.forwardingS)) })}\n`);
}

// Ctrl-C: exit, so the exit hooks kill the nodes and remove the namespaces.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  },
);
