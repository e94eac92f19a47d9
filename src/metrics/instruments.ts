import { MetricDefinitionError, MetricValueError } from './errors.js';
import type { MetricFamily, MetricType, Sample } from './format.js';
import { checkLabelNames, LabelSets, labelValues, pairs, type LabelValues } from './labels.js';

export interface MetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

/** What the registry hands every instrument: its label-set limit and where to count drops. */
export interface InstrumentContext {
  readonly labelSetsMax: number;
  readonly onLabelSetDropped: (metric: string) => void;
}

export interface Collectable {
  readonly name: string;
  collect(): MetricFamily;
}

/** A child that records nothing: what `labels()` returns beyond the label-set limit. */
const NOOP = { inc: (): void => undefined, dec: (): void => undefined, set: (): void => undefined, observe: (): void => undefined };

abstract class Instrument<C> implements Collectable {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly sets: LabelSets<C>;

  constructor(o: MetricOptions, ctx: InstrumentContext, create: () => C, reserved: readonly string[] = []) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
    checkLabelNames(o.name, this.labelNames, reserved);
    this.sets = new LabelSets(ctx.labelSetsMax, create, () => ctx.onLabelSetDropped(o.name));
  }

  /** The child for one label set (cache it on hot paths); a no-op child beyond the label-set limit. */
  protected child(labels: LabelValues | undefined): C | null {
    return this.sets.get(labelValues(this.name, this.labelNames, labels));
  }

  abstract collect(): MetricFamily;
}

class CounterChild {
  value = 0;
  constructor(private readonly metric: string) {}
  inc(by = 1): void {
    if (!(by >= 0)) throw new MetricValueError(this.metric, by, 'a counter only goes up');
    this.value += by;
  }
}

export class Counter extends Instrument<CounterChild> {
  constructor(o: MetricOptions, ctx: InstrumentContext) {
    super(o, ctx, () => new CounterChild(o.name));
  }

  labels(labels: LabelValues): Pick<CounterChild, 'inc'> {
    return this.child(labels) ?? NOOP;
  }

  inc(by = 1): void {
    this.child(undefined)?.inc(by);
  }

  collect(): MetricFamily {
    return simpleFamily(this, 'counter', this.sets.entries());
  }
}

class GaugeChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
  set(v: number): void {
    this.value = v;
  }
}

export class Gauge extends Instrument<GaugeChild> {
  constructor(o: MetricOptions, ctx: InstrumentContext) {
    super(o, ctx, () => new GaugeChild());
  }

  labels(labels: LabelValues): Pick<GaugeChild, 'inc' | 'dec' | 'set'> {
    return this.child(labels) ?? NOOP;
  }

  set(v: number): void {
    this.child(undefined)?.set(v);
  }

  inc(by = 1): void {
    this.child(undefined)?.inc(by);
  }

  dec(by = 1): void {
    this.child(undefined)?.dec(by);
  }

  collect(): MetricFamily {
    return simpleFamily(this, 'gauge', this.sets.entries());
  }
}

function simpleFamily(m: Instrument<{ value: number }>, type: MetricType, entries: Iterable<readonly [readonly string[], { value: number }]>): MetricFamily {
  const samples: Sample[] = [];
  for (const [values, c] of entries) samples.push({ suffix: '', labels: pairs(m.labelNames, values), value: c.value });
  return { name: m.name, help: m.help, type, samples };
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds, strictly increasing and finite; the +Inf bucket is implicit. */
  readonly buckets: readonly number[];
}

/** Most buckets one histogram may declare: each one is a series on every scrape. */
export const HISTOGRAM_BUCKETS_MAX = 32;

class HistogramChild {
  /** Non-cumulative: counts[i] holds observations in (bounds[i-1], bounds[i]]; the last is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    private readonly metric: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    if (Number.isNaN(v)) throw new MetricValueError(this.metric, v, 'cannot observe NaN');
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class Histogram extends Instrument<HistogramChild> {
  readonly buckets: readonly number[];

  constructor(o: HistogramOptions, ctx: InstrumentContext) {
    const buckets = o.buckets.at(-1) === Infinity ? o.buckets.slice(0, -1) : [...o.buckets];
    super(o, ctx, () => new HistogramChild(o.name, buckets), ['le']);
    if (buckets.length === 0 || buckets.length > HISTOGRAM_BUCKETS_MAX) throw new MetricDefinitionError(`histogram ${o.name}: want 1..${HISTOGRAM_BUCKETS_MAX} buckets`);
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) throw new MetricDefinitionError(`histogram ${o.name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = buckets;
  }

  labels(labels: LabelValues): Pick<HistogramChild, 'observe'> {
    return this.child(labels) ?? NOOP;
  }

  observe(v: number): void {
    this.child(undefined)?.observe(v);
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const [values, c] of this.sets.entries()) {
      const base = pairs(this.labelNames, values);
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += c.counts[i]!;
        const le = i < this.buckets.length ? String(this.buckets[i]) : '+Inf';
        samples.push({ suffix: '_bucket', labels: [...base, ['le', le]], value: cumulative });
      }
      samples.push({ suffix: '_sum', labels: base, value: c.sum });
      samples.push({ suffix: '_count', labels: base, value: c.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/** `emit(value, labels)` inside a collect callback; labels must match the declaration. */
export type Emit = (value: number, labels?: LabelValues) => void;

export interface CallbackOptions extends MetricOptions {
  /** Called on every scrape; emits the current value of each label set. */
  readonly collect: (emit: Emit) => void;
}

/**
 * A counter or gauge read at scrape time from state that exists anyway (stats() of the node), so
 * hot paths are not touched and a label set that disappears (a removed peer) disappears here too.
 */
export class CallbackMetric implements Collectable {
  readonly name: string;
  private readonly labelNames: readonly string[];

  constructor(
    private readonly o: CallbackOptions,
    private readonly type: 'counter' | 'gauge',
    private readonly ctx: InstrumentContext,
  ) {
    this.name = o.name;
    this.labelNames = o.labelNames ?? [];
    checkLabelNames(o.name, this.labelNames);
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    const seen = new Set<string>();
    this.o.collect((value, labels) => {
      const values = labelValues(this.name, this.labelNames, labels);
      const key = values.join('\u0000');
      if (seen.has(key)) throw new MetricDefinitionError(`metric ${this.name}: label set {${values.join(',')}} emitted twice`);
      if (seen.size >= this.ctx.labelSetsMax) {
        this.ctx.onLabelSetDropped(this.name);
        return;
      }
      seen.add(key);
      samples.push({ suffix: '', labels: pairs(this.labelNames, values), value });
    });
    return { name: this.name, help: this.o.help, type: this.type, samples };
  }
}
