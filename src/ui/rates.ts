import type { MetricsSource } from './sources.js';

/** Points kept for the charts: two minutes at one a second. */
export const RATE_POINTS_MAX = 120;

export interface RatePoint {
  /** Unix seconds. */
  readonly t: number;
  /** Log entries this node applied per second: the cluster's committed write rate (null before raft runs). */
  readonly appliedPerSec: number | null;
  /** gRPC calls this node finished per second (watch streams left out), and those that failed. */
  readonly requestsPerSec: number | null;
  readonly errorsPerSec: number | null;
  /** Latency of the calls finished in the interval, in milliseconds (p50 and p99 from histogram buckets). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

interface GrpcTotals {
  readonly requests: number;
  readonly errors: number;
  /** Cumulative count per bucket upper bound (seconds), summed over methods. */
  readonly buckets: ReadonlyMap<number, number>;
}

const REQUESTS = 'raftkv_grpc_requests_total';
const SECONDS = 'raftkv_grpc_request_duration_seconds';
/** A watch's "duration" is its stream lifetime; it would swamp the latency of everything else. */
const LONG_LIVED_METHODS = new Set(['Watch']);

async function grpcTotals(m: MetricsSource): Promise<GrpcTotals> {
  let requests = 0;
  let errors = 0;
  for (const v of await m.values(REQUESTS)) {
    if (LONG_LIVED_METHODS.has(String(v.labels.method))) continue;
    requests += v.value;
    if (v.labels.code !== 'OK') errors += v.value;
  }
  const buckets = new Map<number, number>();
  for (const v of await m.values(SECONDS)) {
    if (v.metricName !== `${SECONDS}_bucket` || LONG_LIVED_METHODS.has(String(v.labels.method))) continue;
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  return { requests, errors, buckets };
}

/** The q-quantile of the observations between two cumulative bucket snapshots, interpolated inside its bucket. */
export function quantileFromBuckets(q: number, before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const upper = bounds[i]!;
      // Beyond the last finite bound nothing is known but "more than": report that bound.
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = bounds[i]!;
  }
  return lower;
}

/** Samples the applied index and the gRPC metrics once per tick and keeps the recent rates. */
export class RateSampler {
  private readonly points: RatePoint[] = [];
  private prev: { atMs: number; applied: number | null; grpc: GrpcTotals | null } | null = null;

  constructor(private readonly metrics: MetricsSource | null) {}

  /**
   * Called every tick from the page's start, before raft runs too (`appliedIndex` null): the first
   * calls a node serves then count against a baseline taken before them.
   */
  async sample(nowMs: number, appliedIndex: number | null): Promise<void> {
    const grpc = this.metrics ? await grpcTotals(this.metrics) : null;
    const p = this.prev;
    this.prev = { atMs: nowMs, applied: appliedIndex, grpc };
    if (p === null || nowMs <= p.atMs) return;
    const secs = (nowMs - p.atMs) / 1000;
    const toMs = (s: number | null): number | null => (s === null ? null : Math.round(s * 1e6) / 1e3);
    this.points.push({
      t: Math.round(nowMs / 1000),
      appliedPerSec: appliedIndex !== null && p.applied !== null ? Math.max(0, appliedIndex - p.applied) / secs : null,
      requestsPerSec: grpc && p.grpc ? (grpc.requests - p.grpc.requests) / secs : null,
      errorsPerSec: grpc && p.grpc ? (grpc.errors - p.grpc.errors) / secs : null,
      p50Ms: grpc && p.grpc ? toMs(quantileFromBuckets(0.5, p.grpc.buckets, grpc.buckets)) : null,
      p99Ms: grpc && p.grpc ? toMs(quantileFromBuckets(0.99, p.grpc.buckets, grpc.buckets)) : null,
    });
    if (this.points.length > RATE_POINTS_MAX) this.points.splice(0, this.points.length - RATE_POINTS_MAX);
  }

  history(): readonly RatePoint[] {
    return this.points;
  }
}
