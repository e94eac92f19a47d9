import * as prom from 'prom-client';
import { MetricDefinitionError } from './errors.js';
import { Counter, Gauge, Histogram, registerCallbackMetric, type CallbackOptions, type HistogramOptions, type InstrumentContext, type MetricOptions } from './instruments.js';

/** Label sets one metric may hold (or emit per scrape) unless the registry is told otherwise. */
export const LABEL_SETS_MAX_DEFAULT = 128;

/** The Prometheus text format 0.0.4, as prom-client renders it. */
export const CONTENT_TYPE: string = prom.Registry.PROMETHEUS_CONTENT_TYPE;

export interface RegistryOptions {
  /** Per metric; beyond it new label sets are dropped and counted in raftkv_metrics_label_sets_dropped_total. */
  readonly labelSetsMax?: number;
  /** A collect callback threw: its family is left out of this scrape (and counted), the rest is served. */
  readonly onCollectError?: (metric: string, err: unknown) => void;
}

/**
 * A prom-client registry with the two things prom-client leaves to its user: a per-metric bound on
 * label sets, and scrapes that survive a collector that throws (prom-client's own `metrics()` fails
 * the whole scrape). Instruments (Counter, Gauge, Histogram) are updated by code; callback metrics
 * are read at scrape time.
 */
export class Registry {
  readonly labelSetsMax: number;
  /** The prom-client registry behind this one (collectDefaultMetrics registers here). */
  readonly prom = new prom.Registry();
  /** The registry's own metrics, rendered last so they include what this scrape dropped or failed. */
  private readonly own = new prom.Registry();
  private readonly ctx: InstrumentContext;
  private readonly dropped = new Map<string, number>();
  private collectErrors = 0;
  private scrapeGeneration = 0;

  constructor(private readonly opts: RegistryOptions = {}) {
    this.labelSetsMax = opts.labelSetsMax ?? LABEL_SETS_MAX_DEFAULT;
    if (!Number.isSafeInteger(this.labelSetsMax) || this.labelSetsMax < 1) throw new MetricDefinitionError(`labelSetsMax must be a positive integer, got ${this.labelSetsMax}`);
    this.ctx = { register: this.prom, labelSetsMax: this.labelSetsMax, onLabelSetDropped: (m) => this.dropped.set(m, (this.dropped.get(m) ?? 0) + 1) };
    // Bounded by construction: one label set per registered metric name.
    registerCallbackMetric({
      name: 'raftkv_metrics_label_sets_dropped_total',
      help: 'Label sets not recorded because the metric reached its label-set limit.',
      labelNames: ['metric'],
      collect: (emit) => {
        for (const [metric, n] of this.dropped) emit(n, { metric });
      },
    }, 'counter', { register: this.own, labelSetsMax: Number.MAX_SAFE_INTEGER, onLabelSetDropped: () => undefined });
    registerCallbackMetric({
      name: 'raftkv_metrics_collect_errors_total',
      help: 'Scrape-time collect callbacks that threw (their metric was left out of that scrape).',
      collect: (emit) => emit(this.collectErrors),
    }, 'counter', { ...this.ctx, register: this.own });
  }

  counter(o: MetricOptions): Counter {
    this.checkFree(o.name);
    return new Counter(o, this.ctx);
  }

  gauge(o: MetricOptions): Gauge {
    this.checkFree(o.name);
    return new Gauge(o, this.ctx);
  }

  histogram(o: HistogramOptions): Histogram {
    this.checkFree(o.name);
    return new Histogram(o, this.ctx);
  }

  /** A monotonic count that already exists elsewhere (transport stats), read at scrape time. */
  callbackCounter(o: CallbackOptions): void {
    this.checkFree(o.name);
    registerCallbackMetric(o, 'counter', this.ctx);
  }

  /** A current value that already exists elsewhere (raft term, queue length), read at scrape time. */
  callbackGauge(o: CallbackOptions): void {
    this.checkFree(o.name);
    registerCallbackMetric(o, 'gauge', this.ctx);
  }

  /**
   * prom-client's default Node.js metrics (process_cpu_seconds_total, nodejs_eventloop_lag_seconds,
   * nodejs_heap_size_used_bytes, ...) under their usual names, so existing Node dashboards work.
   */
  collectDefaultMetrics(): void {
    prom.collectDefaultMetrics({ register: this.prom });
  }

  /**
   * `read` evaluated at most once per scrape: many callback metrics can share one stats() call
   * and see one consistent snapshot.
   */
  perScrape<T>(read: () => T): () => T {
    let generation = -1;
    let value: T;
    return () => {
      if (generation !== this.scrapeGeneration) {
        value = read();
        generation = this.scrapeGeneration;
      }
      return value;
    };
  }

  /**
   * The text exposition (format 0.0.4) of every metric, in registration order. Families are
   * rendered one by one: one whose collect callback throws is left out and counted, the rest served.
   */
  async exposition(): Promise<string> {
    this.scrapeGeneration++;
    const parts: string[] = [];
    for (const reg of [this.prom, this.own]) {
      for (const m of reg.getMetricsAsArray()) {
        try {
          parts.push(await reg.getSingleMetricAsString(m.name));
        } catch (err) {
          this.collectErrors++;
          this.opts.onCollectError?.(m.name, err);
        }
      }
    }
    return `${parts.join('\n')}\n`;
  }

  /** The value of each sample of one metric, by its label object; for in-process readers (the cluster page). */
  async values(name: string): Promise<ReadonlyArray<prom.MetricValue<string>>> {
    const m = this.prom.getSingleMetric(name);
    if (m === undefined) return [];
    return (await m.get()).values;
  }

  private checkFree(name: string): void {
    if (this.prom.getSingleMetric(name) !== undefined || this.own.getSingleMetric(name) !== undefined) throw new MetricDefinitionError(`metric ${name} is already registered`);
  }
}
