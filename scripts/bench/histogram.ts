/** Latency histogram shared by the benchmarks: buckets grow by 2% so percentiles are within 2%; memory is fixed. */
const BUCKET_GROWTH = 1.02;
const BUCKET_MIN_US = 10;
const BUCKETS = 1200; // 10 us * 1.02^1200 ≈ 200 s: covers any latency we would accept
export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumMs = 0;
  private maxMs = 0;
  record(ms: number): void {
    const us = Math.max(ms * 1000, BUCKET_MIN_US);
    const b = Math.min(BUCKETS - 1, Math.floor(Math.log(us / BUCKET_MIN_US) / Math.log(BUCKET_GROWTH)));
    this.counts[b] = (this.counts[b] ?? 0) + 1;
    this.total++;
    this.sumMs += ms;
    this.maxMs = Math.max(this.maxMs, ms);
  }
  /** Upper edge of the bucket holding quantile q, in ms. */
  quantileMs(q: number): number {
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] ?? 0;
      if (seen >= rank && seen > 0) return Math.min(this.maxMs, (BUCKET_MIN_US * BUCKET_GROWTH ** (b + 1)) / 1000);
    }
    return this.maxMs;
  }
  summary(): { p50: number; p99: number; p999: number; max: number; mean: number } {
    const r = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      p50: r(this.quantileMs(0.5)), p99: r(this.quantileMs(0.99)), p999: r(this.quantileMs(0.999)),
      max: r(this.maxMs), mean: r(this.total === 0 ? 0 : this.sumMs / this.total),
    };
  }
}

