import * as prom from 'prom-client';
import { MetricDefinitionError, MetricValueError } from './errors.js';
import { checkDefinition, labelKey, labelObject, type LabelValues } from './labels.js';

export interface MetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
}

/** What the registry hands every instrument: where to register, its label-set limit and where to count drops. */
export interface InstrumentContext {
  readonly register: prom.Registry;
  readonly labelSetsMax: number;
  readonly onLabelSetDropped: (metric: string) => void;
}

/** A child that records nothing: what `labels()` returns beyond the label-set limit. */
const NOOP = { inc: (): void => undefined, dec: (): void => undefined, set: (): void => undefined, observe: (): void => undefined };

/**
 * The children of one prom-client metric, one per label set, at most `labelSetsMax` of them: a
 * label with unbounded values (a key, a client address) would otherwise grow memory and every
 * scrape without limit. prom-client has no such limit, so every labelled update goes through here.
 */
class BoundedChildren<C> {
  private readonly byKey = new Map<string, C>();
  constructor(
    private readonly name: string,
    private readonly labelNames: readonly string[],
    private readonly ctx: InstrumentContext,
    private readonly create: (labels: Record<string, string>) => C,
  ) {}

  get(given: LabelValues | undefined): C | null {
    const labels = labelObject(this.name, this.labelNames, given);
    const key = labelKey(labels);
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    if (this.byKey.size >= this.ctx.labelSetsMax) {
      this.ctx.onLabelSetDropped(this.name);
      return null;
    }
    const child = this.create(labels);
    this.byKey.set(key, child);
    return child;
  }
}

/** prom-client throws plain Errors for a duplicate name or a bad definition; ours are typed. */
function define<M>(name: string, make: () => M): M {
  try {
    return make();
  } catch (e) {
    throw new MetricDefinitionError(`metric ${name}: ${(e as Error).message}`);
  }
}

type CounterChild = { inc(by?: number): void };

export class Counter {
  private readonly children: BoundedChildren<CounterChild>;

  constructor(o: MetricOptions, ctx: InstrumentContext) {
    const labelNames = o.labelNames ?? [];
    checkDefinition(o.name, labelNames);
    const metric = define(o.name, () => new prom.Counter({ name: o.name, help: o.help, labelNames, registers: [ctx.register] }));
    const check = (by: number): void => {
      if (!(by >= 0) || !Number.isFinite(by)) throw new MetricValueError(o.name, by, 'a counter only goes up by a finite amount');
    };
    this.children = new BoundedChildren(o.name, labelNames, ctx, (labels) => ({
      inc: (by = 1) => {
        check(by);
        metric.inc(labels, by);
      },
    }));
  }

  /** The child for one label set (cache it on hot paths); a no-op child beyond the label-set limit. */
  labels(labels: LabelValues): CounterChild {
    return this.children.get(labels) ?? NOOP;
  }

  inc(by = 1): void {
    this.children.get(undefined)?.inc(by);
  }
}

type GaugeChild = { inc(by?: number): void; dec(by?: number): void; set(v: number): void };

export class Gauge {
  private readonly children: BoundedChildren<GaugeChild>;

  constructor(o: MetricOptions, ctx: InstrumentContext) {
    const labelNames = o.labelNames ?? [];
    checkDefinition(o.name, labelNames);
    const metric = define(o.name, () => new prom.Gauge({ name: o.name, help: o.help, labelNames, registers: [ctx.register] }));
    this.children = new BoundedChildren(o.name, labelNames, ctx, (labels) => ({
      inc: (by = 1) => metric.inc(labels, by),
      dec: (by = 1) => metric.dec(labels, by),
      set: (v) => metric.set(labels, v),
    }));
  }

  labels(labels: LabelValues): GaugeChild {
    return this.children.get(labels) ?? NOOP;
  }

  set(v: number): void {
    this.children.get(undefined)?.set(v);
  }

  inc(by = 1): void {
    this.children.get(undefined)?.inc(by);
  }

  dec(by = 1): void {
    this.children.get(undefined)?.dec(by);
  }
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds, strictly increasing and finite; the +Inf bucket is implicit. */
  readonly buckets: readonly number[];
}

/** Most buckets one histogram may declare: each one is a series on every scrape. */
export const HISTOGRAM_BUCKETS_MAX = 32;

type HistogramChild = { observe(v: number): void };

export class Histogram {
  readonly buckets: readonly number[];
  private readonly children: BoundedChildren<HistogramChild>;

  constructor(o: HistogramOptions, ctx: InstrumentContext) {
    const labelNames = o.labelNames ?? [];
    checkDefinition(o.name, labelNames, ['le']);
    const buckets = o.buckets.at(-1) === Infinity ? o.buckets.slice(0, -1) : [...o.buckets];
    if (buckets.length === 0 || buckets.length > HISTOGRAM_BUCKETS_MAX) throw new MetricDefinitionError(`histogram ${o.name}: want 1..${HISTOGRAM_BUCKETS_MAX} buckets`);
    for (let i = 0; i < buckets.length; i++) {
      if (!Number.isFinite(buckets[i]) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) throw new MetricDefinitionError(`histogram ${o.name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = buckets;
    const metric = define(o.name, () => new prom.Histogram({ name: o.name, help: o.help, labelNames, buckets, registers: [ctx.register] }));
    this.children = new BoundedChildren(o.name, labelNames, ctx, (labels) => ({
      observe: (v) => {
        if (Number.isNaN(v)) throw new MetricValueError(o.name, v, 'cannot observe NaN');
        metric.observe(labels, v);
      },
    }));
  }

  labels(labels: LabelValues): HistogramChild {
    return this.children.get(labels) ?? NOOP;
  }

  observe(v: number): void {
    this.children.get(undefined)?.observe(v);
  }
}

/** `emit(value, labels)` inside a collect callback; labels must match the declaration. */
export type Emit = (value: number, labels?: LabelValues) => void;

export interface CallbackOptions extends MetricOptions {
  /** Called on every scrape; emits the current value of each label set. */
  readonly collect: (emit: Emit) => void;
}

/**
 * A counter or gauge read at scrape time (prom-client's `collect` hook) from state that exists
 * anyway (stats() of the node), so hot paths are not touched and a label set that disappears (a
 * removed peer) disappears here too: every scrape starts from an empty metric.
 */
export function registerCallbackMetric(o: CallbackOptions, type: 'counter' | 'gauge', ctx: InstrumentContext): void {
  const labelNames = o.labelNames ?? [];
  checkDefinition(o.name, labelNames);
  const fill = (reset: () => void, set: (labels: Record<string, string>, v: number) => void): void => {
    reset();
    const seen = new Set<string>();
    o.collect((value, given) => {
      const labels = labelObject(o.name, labelNames, given);
      const key = labelKey(labels);
      if (seen.has(key)) throw new MetricDefinitionError(`metric ${o.name}: label set {${key}} emitted twice`);
      if (seen.size >= ctx.labelSetsMax) {
        ctx.onLabelSetDropped(o.name);
        return;
      }
      seen.add(key);
      set(labels, value);
    });
  };
  const base = { name: o.name, help: o.help, labelNames, registers: [ctx.register] };
  if (type === 'counter') {
    define(o.name, () => new prom.Counter({
      ...base,
      collect(this: prom.Counter) {
        fill(() => this.reset(), (labels, v) => this.inc(labels, v));
      },
    }));
  } else {
    define(o.name, () => new prom.Gauge({
      ...base,
      collect(this: prom.Gauge) {
        fill(() => this.reset(), (labels, v) => this.set(labels, v));
      },
    }));
  }
}
