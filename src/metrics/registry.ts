import { MetricDefinitionError } from './errors.js';
import { formatFamilies, type MetricFamily } from './format.js';
import { CallbackMetric, Counter, Gauge, Histogram, type CallbackOptions, type Collectable, type HistogramOptions, type InstrumentContext, type MetricOptions } from './instruments.js';
import { checkMetricName } from './labels.js';

/** Label sets one metric may hold (or emit per scrape) unless the registry is told otherwise. */
export const LABEL_SETS_MAX_DEFAULT = 128;

export interface RegistryOptions {
  /** Per metric; beyond it new label sets are dropped and counted in raftkv_metrics_label_sets_dropped_total. */
  readonly labelSetsMax?: number;
  /** A collect callback threw: its family is left out of this scrape (and counted), the rest is served. */
  readonly onCollectError?: (metric: string, err: unknown) => void;
}

/**
 * Metrics in registration order, rendered in the Prometheus text format. Instruments (Counter, Gauge,
 * Histogram) are updated by code; callback metrics are read at scrape time.
 */
export class Registry {
  readonly labelSetsMax: number;
  private readonly metrics = new Map<string, Collectable>();
  /** The registry's own metrics, rendered last so they include what this scrape dropped or failed. */
  private readonly own: Collectable[] = [];
  private readonly ctx: InstrumentContext;
  private readonly dropped = new Map<string, number>();
  private collectErrors = 0;
  private scrapeGeneration = 0;

  constructor(private readonly opts: RegistryOptions = {}) {
    this.labelSetsMax = opts.labelSetsMax ?? LABEL_SETS_MAX_DEFAULT;
    if (!Number.isSafeInteger(this.labelSetsMax) || this.labelSetsMax < 1) throw new MetricDefinitionError(`labelSetsMax must be a positive integer, got ${this.labelSetsMax}`);
    this.ctx = { labelSetsMax: this.labelSetsMax, onLabelSetDropped: (m) => this.dropped.set(m, (this.dropped.get(m) ?? 0) + 1) };
    // Bounded by construction: one label set per registered metric name.
    this.own.push(new CallbackMetric({
      name: 'raftkv_metrics_label_sets_dropped_total',
      help: 'Label sets not recorded because the metric reached its label-set limit.',
      labelNames: ['metric'],
      collect: (emit) => {
        for (const [metric, n] of this.dropped) emit(n, { metric });
      },
    }, 'counter', { labelSetsMax: Number.MAX_SAFE_INTEGER, onLabelSetDropped: () => undefined }));
    this.own.push(new CallbackMetric({
      name: 'raftkv_metrics_collect_errors_total',
      help: 'Scrape-time collect callbacks that threw (their metric was left out of that scrape).',
      collect: (emit) => emit(this.collectErrors),
    }, 'counter', this.ctx));
  }

  counter(o: MetricOptions): Counter {
    return this.register(new Counter(o, this.ctx));
  }

  gauge(o: MetricOptions): Gauge {
    return this.register(new Gauge(o, this.ctx));
  }

  histogram(o: HistogramOptions): Histogram {
    return this.register(new Histogram(o, this.ctx));
  }

  /** A monotonic count that already exists elsewhere (transport stats), read at scrape time. */
  callbackCounter(o: CallbackOptions): void {
    this.register(new CallbackMetric(o, 'counter', this.ctx));
  }

  /** A current value that already exists elsewhere (raft term, queue length), read at scrape time. */
  callbackGauge(o: CallbackOptions): void {
    this.register(new CallbackMetric(o, 'gauge', this.ctx));
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

  /** Every family, in registration order; a family whose callback throws is left out and counted. */
  collect(): MetricFamily[] {
    this.scrapeGeneration++;
    const out: MetricFamily[] = [];
    for (const m of [...this.metrics.values(), ...this.own]) {
      try {
        out.push(m.collect());
      } catch (err) {
        this.collectErrors++;
        this.opts.onCollectError?.(m.name, err);
      }
    }
    return out;
  }

  /** The text exposition (format 0.0.4) of every metric. */
  exposition(): string {
    return formatFamilies(this.collect());
  }

  private register<M extends Collectable>(m: M): M {
    checkMetricName(m.name);
    if (this.metrics.has(m.name) || this.own.some((o) => o.name === m.name)) throw new MetricDefinitionError(`metric ${m.name} is already registered`);
    this.metrics.set(m.name, m);
    return m;
  }
}
