import { MetricDefinitionError } from './errors.js';

/** Label values as callers give them; numbers (peer ids) are turned into strings. */
export type LabelValues = Readonly<Record<string, string | number>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Checked here, before prom-client, so every definition error has the same type and code. */
export function checkDefinition(name: string, labelNames: readonly string[], reserved: readonly string[] = []): void {
  if (!METRIC_NAME.test(name)) throw new MetricDefinitionError(`bad metric name "${name}"`);
  for (const n of labelNames) {
    // Names starting with __ are reserved for Prometheus itself.
    if (!LABEL_NAME.test(n) || n.startsWith('__') || reserved.includes(n)) throw new MetricDefinitionError(`metric ${name}: bad label name "${n}"`);
  }
  if (new Set(labelNames).size !== labelNames.length) throw new MetricDefinitionError(`metric ${name}: duplicate label name`);
}

/**
 * `given` as a label object in declaration order, values as strings; throws when the names do not
 * match the declaration exactly (prom-client accepts a missing label silently, which would split a
 * series in two).
 */
export function labelObject(metric: string, names: readonly string[], given: LabelValues | undefined): Record<string, string> {
  const g = given ?? {};
  const keys = Object.keys(g);
  if (keys.length !== names.length || !names.every((n) => Object.hasOwn(g, n))) {
    throw new MetricDefinitionError(`metric ${metric}: labels {${keys.join(',')}} do not match the declared {${names.join(',')}}`);
  }
  const out: Record<string, string> = {};
  for (const n of names) out[n] = String(g[n]);
  return out;
}

/** A key for one label set; \u0000 cannot be confused with any character of a value next to it. */
export function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.values(labels).join('\u0000');
}
