/**
 * Case "watchers" of `npm run bench:scale`: W watch streams on one prefix, spread over the members
 * of a 3-member cluster (at most WATCH_STREAMS_PER_CHANNEL streams per connection, one connection
 * per member at least), while one writer (a worker thread, watch-writer.ts) puts new keys under the
 * prefix through the leader at R puts/s for the duration. Each value carries the writer's clock
 * when the put was sent; delivery latency is the watcher's clock on receipt minus that (one
 * process, one clock). Also: CPU seconds of each member over the run, and of this client process,
 * which decodes W × R events/s itself (when its CPU seconds approach the run's wall time, the
 * client, not the server, bounds the latencies).
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@grpc/grpc-js';
import { cpuSeconds } from './clusters.js';
import { PrefixWatch, WATCH_STREAMS_PER_CHANNEL, watchChannel } from './etcd-watch.js';
import { Histogram } from './histogram.js';
import { progress, round, type Running } from './scale-common.js';
import { nowMs, startWriter } from './watch-writer.js';

const PREFIX = 'w/';
/** 8 bytes of send time (float64, ms), the rest padding. */
const VALUE_BYTES = 64;
const CREATE_TIMEOUT_MS = 60_000;
/** After the last put: give up waiting for deliveries when none arrived for this long. */
const DRAIN_IDLE_MS = 10_000;

export interface WatchersResult {
  watchers: number;
  targetPutsPerSec: number;
  putsPerSec: number;
  puts: number;
  putErrors: number;
  deliveriesExpected: number;
  deliveries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU seconds of each member over the run (writes, deliveries and the drain). */
  memberCpuS: number[];
  clientCpuS: number;
  wallS: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function watchersCase(r: Running, watchers: number, rate: number, durationS: number): Promise<WatchersResult> {
  const hist = new Histogram();
  let deliveries = 0;
  let lastDeliveryAt = performance.now();
  const onSendTimes = (sendTimesMs: readonly number[]): void => {
    const now = nowMs();
    for (const t of sendTimesMs) if (!Number.isNaN(t)) hist.record(now - t);
    deliveries += sendTimesMs.length;
    lastDeliveryAt = performance.now();
  };
  const writer = await startWriter({ endpoint: r.c.members[r.leader]!.endpoint, prefix: PREFIX, rate, durationS, valueBytes: VALUE_BYTES });
  // At least one connection per member, so the watchers are spread over every member.
  const channelCount = Math.max(r.c.members.length, Math.ceil(watchers / WATCH_STREAMS_PER_CHANNEL));
  const channels: Client[] = Array.from({ length: Math.min(watchers, channelCount) }, (_, i) => watchChannel(r.c.members[i % r.c.members.length]!.endpoint));
  const streams = Array.from({ length: watchers }, (_, i) => new PrefixWatch(channels[i % channels.length]!, Buffer.from(PREFIX), onSendTimes));
  try {
    await Promise.race([Promise.all(streams.map((s) => s.created)), sleep(CREATE_TIMEOUT_MS).then(() => { throw new Error(`${r.c.system}: ${watchers} watches not created within ${CREATE_TIMEOUT_MS} ms`); })]);
    progress(`${r.c.system} watchers: ${watchers} watches on ${channels.length} connections`);
    const pids = r.c.members.map((m) => m.proc?.pid);
    const cpu0 = pids.map((p) => cpuSeconds(p));
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    const w = await writer.run();
    const { puts, putErrors } = w;
    const expected = puts * watchers;
    while (deliveries < expected && performance.now() - lastDeliveryAt < DRAIN_IDLE_MS) await sleep(20);
    const wallS = (performance.now() - t0) / 1000;
    const client = process.cpuUsage(client0);
    const h = hist.summary();
    const res: WatchersResult = {
      watchers, targetPutsPerSec: rate, putsPerSec: Math.round(puts / w.elapsedS), puts, putErrors, deliveriesExpected: expected, deliveries,
      p50Ms: h.p50, p99Ms: h.p99, maxMs: h.max, memberCpuS: pids.map((p, i) => round(cpuSeconds(p) - cpu0[i]!, 2)),
      clientCpuS: round((client.user + client.system) / 1e6, 2), wallS: round(wallS, 2),
    };
    progress(`${r.c.system} watchers: ${res.putsPerSec} puts/s, ${deliveries}/${expected} delivered, p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms, member CPU ${res.memberCpuS.join(' / ')} s, client CPU ${res.clientCpuS} s over ${res.wallS} s`);
    return res;
  } finally {
    await writer.stop();
    for (const s of streams) s.close();
    for (const ch of channels) ch.close();
  }
}
