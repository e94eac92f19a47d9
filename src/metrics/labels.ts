import { MetricDefinitionError } from './errors.js';

/** Label values as callers give them; numbers (peer ids) are turned into strings. */
export type LabelValues = Readonly<Record<string, string | number>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function checkMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new MetricDefinitionError(`bad metric name "${name}"`);
}

/** `reserved` names a label the metric type adds itself (a histogram's `le`). */
export function checkLabelNames(metric: string, names: readonly string[], reserved: readonly string[] = []): void {
  for (const n of names) {
    // Names starting with __ are reserved for Prometheus itself.
    if (!LABEL_NAME.test(n) || n.startsWith('__') || reserved.includes(n)) throw new MetricDefinitionError(`metric ${metric}: bad label name "${n}"`);
  }
  if (new Set(names).size !== names.length) throw new MetricDefinitionError(`metric ${metric}: duplicate label name`);
}

/**
 * The label values of `given`, in declaration order; throws when the label names do not match the
 * declaration exactly (a missing or extra label is a programming error, not data).
 */
export function labelValues(metric: string, names: readonly string[], given: LabelValues | undefined): string[] {
  const g = given ?? {};
  const keys = Object.keys(g);
  if (keys.length !== names.length || !names.every((n) => Object.hasOwn(g, n))) {
    throw new MetricDefinitionError(`metric ${metric}: labels {${keys.join(',')}} do not match the declared {${names.join(',')}}`);
  }
  return names.map((n) => String(g[n]));
}

/**
 * The children of one metric, one per label set, at most `max` of them: a label with unbounded
 * values (a key, a client address) would otherwise grow memory and every scrape without limit.
 * Beyond the limit `get` returns null and calls `onDrop`, and the caller records nothing.
 */
export class LabelSets<C> {
  private readonly byKey = new Map<string, { readonly values: readonly string[]; readonly child: C }>();

  constructor(
    private readonly max: number,
    private readonly create: () => C,
    private readonly onDrop: () => void,
  ) {}

  get(values: readonly string[]): C | null {
    // \u0000 cannot be confused with any character of a value joined next to it.
    const key = values.join('\u0000');
    const found = this.byKey.get(key);
    if (found) return found.child;
    if (this.byKey.size >= this.max) {
      this.onDrop();
      return null;
    }
    const child = this.create();
    this.byKey.set(key, { values, child });
    return child;
  }

  get size(): number {
    return this.byKey.size;
  }

  *entries(): IterableIterator<readonly [readonly string[], C]> {
    for (const { values, child } of this.byKey.values()) yield [values, child];
  }
}

export function pairs(names: readonly string[], values: readonly string[]): Array<readonly [string, string]> {
  return names.map((n, i) => [n, values[i] ?? ''] as const);
}
