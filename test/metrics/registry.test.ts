import { describe, expect, it } from 'vitest';
import { MetricDefinitionError, MetricValueError } from '../../src/metrics/errors.js';
import { escapeHelp, escapeLabelValue, formatFamily, formatValue } from '../../src/metrics/format.js';
import { Registry } from '../../src/metrics/registry.js';

/** The exposition lines of one metric family (its HELP, TYPE and samples), without the registry's own. */
function family(r: Registry, name: string): string[] {
  const f = r.collect().find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name}`);
  return formatFamily(f).trimEnd().split('\n');
}

describe('text format', () => {
  it.each([
    ['plain', 'plain'],
    ['back\\slash', 'back\\\\slash'],
    ['quote "x"', 'quote \\"x\\"'],
    ['line\nfeed', 'line\\nfeed'],
    ['all \\"\n', 'all \\\\\\"\\n'],
  ])('escapes the label value %j', (raw, escaped) => {
    expect(escapeLabelValue(raw)).toBe(escaped);
  });

  it.each([
    ['plain help', 'plain help'],
    ['a "quote" stays', 'a "quote" stays'],
    ['back\\slash\nnewline', 'back\\\\slash\\nnewline'],
  ])('escapes the help text %j', (raw, escaped) => {
    expect(escapeHelp(raw)).toBe(escaped);
  });

  it.each([
    [0, '0'], [42, '42'], [-1.5, '-1.5'], [0.005, '0.005'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [NaN, 'NaN'], [2 ** 53, '9007199254740992'],
  ])('formats the value %d', (v, text) => {
    expect(formatValue(v)).toBe(text);
  });
});

describe('registry', () => {
  it('renders a counter and a gauge with HELP, TYPE and escaped labels', () => {
    const r = new Registry();
    const c = r.counter({ name: 'req_total', help: 'Requests.\nAll of them.', labelNames: ['method', 'path'] });
    c.labels({ method: 'GET', path: '/a"b\\c\nd' }).inc();
    c.labels({ method: 'GET', path: '/a"b\\c\nd' }).inc(2);
    c.labels({ method: 'PUT', path: '/' }).inc();
    const g = r.gauge({ name: 'temp_celsius', help: 'Temperature.' });
    g.set(21.5);
    g.inc();
    g.dec(0.5);
    expect(family(r, 'req_total')).toEqual([
      '# HELP req_total Requests.\\nAll of them.',
      '# TYPE req_total counter',
      'req_total{method="GET",path="/a\\"b\\\\c\\nd"} 3',
      'req_total{method="PUT",path="/"} 1',
    ]);
    expect(family(r, 'temp_celsius')).toEqual(['# HELP temp_celsius Temperature.', '# TYPE temp_celsius gauge', 'temp_celsius 22']);
  });

  it('renders histogram buckets cumulatively, with +Inf, _sum and _count', () => {
    const r = new Registry();
    const h = r.histogram({ name: 'lat_seconds', help: 'Latency.', labelNames: ['op'], buckets: [0.1, 0.5, 1] });
    for (const v of [0.05, 0.1, 0.3, 0.7, 2, 5]) h.labels({ op: 'put' }).observe(v);
    expect(family(r, 'lat_seconds')).toEqual([
      '# HELP lat_seconds Latency.',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{op="put",le="0.1"} 2', // 0.1 itself falls in le="0.1": upper bounds are inclusive
      'lat_seconds_bucket{op="put",le="0.5"} 3',
      'lat_seconds_bucket{op="put",le="1"} 4',
      'lat_seconds_bucket{op="put",le="+Inf"} 6',
      'lat_seconds_sum{op="put"} 8.15',
      'lat_seconds_count{op="put"} 6',
    ]);
  });

  it('renders a declared metric without observations as HELP and TYPE only', () => {
    const r = new Registry();
    r.histogram({ name: 'empty_seconds', help: 'Nothing yet.', buckets: [1] });
    expect(family(r, 'empty_seconds')).toEqual(['# HELP empty_seconds Nothing yet.', '# TYPE empty_seconds histogram']);
  });

  it('drops label sets beyond the limit and counts the drops', () => {
    const r = new Registry({ labelSetsMax: 3 });
    const c = r.counter({ name: 'by_key_total', help: 'Per key.', labelNames: ['key'] });
    for (let i = 0; i < 10; i++) c.labels({ key: `k${i}` }).inc();
    c.labels({ key: 'k0' }).inc(); // an existing set still counts
    expect(family(r, 'by_key_total').slice(2)).toEqual(['by_key_total{key="k0"} 2', 'by_key_total{key="k1"} 1', 'by_key_total{key="k2"} 1']);
    r.callbackGauge({
      name: 'cb_gauge', help: 'Callback.', labelNames: ['i'],
      collect: (e) => {
        for (let i = 0; i < 5; i++) e(i, { i });
      },
    });
    expect(family(r, 'cb_gauge').slice(2)).toEqual(['cb_gauge{i="0"} 0', 'cb_gauge{i="1"} 1', 'cb_gauge{i="2"} 2']);
    // A callback's excess is dropped and counted on every scrape: cb_gauge has been scraped twice.
    expect(family(r, 'raftkv_metrics_label_sets_dropped_total').slice(2)).toEqual([
      'raftkv_metrics_label_sets_dropped_total{metric="by_key_total"} 7',
      'raftkv_metrics_label_sets_dropped_total{metric="cb_gauge"} 4',
    ]);
  });

  it('reads callback metrics at scrape time, sharing one perScrape read', () => {
    const r = new Registry();
    let reads = 0;
    let term = 1;
    const snap = r.perScrape(() => {
      reads++;
      return { term, peers: term === 1 ? [2, 3] : [2] };
    });
    r.callbackGauge({ name: 'term', help: 'Term.', collect: (e) => e(snap().term) });
    r.callbackGauge({ name: 'peer_up', help: 'Peers.', labelNames: ['peer'], collect: (e) => snap().peers.forEach((p) => e(1, { peer: p })) });
    expect(r.exposition()).toContain('\nterm 1\n# HELP peer_up Peers.\n# TYPE peer_up gauge\npeer_up{peer="2"} 1\npeer_up{peer="3"} 1\n');
    expect(reads).toBe(1);
    term = 2;
    const text = r.exposition();
    expect(reads).toBe(2);
    expect(text).toContain('\nterm 2\n');
    expect(text).not.toContain('peer="3"'); // a label set that went away is gone
  });

  it('leaves out a family whose callback throws, counts it and serves the rest', () => {
    const errors: string[] = [];
    const r = new Registry({ onCollectError: (m) => errors.push(m) });
    r.callbackGauge({ name: 'broken', help: 'Throws.', collect: () => { throw new Error('stopped'); } });
    r.gauge({ name: 'fine', help: 'Fine.' }).set(1);
    const text = r.exposition();
    expect(text).not.toContain('broken');
    expect(text).toContain('\nfine 1\n');
    expect(text).toContain('raftkv_metrics_collect_errors_total 1\n');
    expect(errors).toEqual(['broken']);
  });

  it.each([
    ['a bad metric name', (r: Registry) => r.counter({ name: '1abc', help: '' })],
    ['a duplicate name', (r: Registry) => { r.gauge({ name: 'dup', help: '' }); r.counter({ name: 'dup', help: '' }); }],
    ['a bad label name', (r: Registry) => r.counter({ name: 'x_total', help: '', labelNames: ['a-b'] })],
    ['a reserved label name', (r: Registry) => r.counter({ name: 'x_total', help: '', labelNames: ['__x'] })],
    ['le on a histogram', (r: Registry) => r.histogram({ name: 'h', help: '', labelNames: ['le'], buckets: [1] })],
    ['unsorted buckets', (r: Registry) => r.histogram({ name: 'h', help: '', buckets: [1, 1] })],
    ['no buckets', (r: Registry) => r.histogram({ name: 'h', help: '', buckets: [] })],
    ['labels that do not match', (r: Registry) => r.counter({ name: 'x_total', help: '', labelNames: ['a'] }).labels({ b: '1' })],
    ['missing labels', (r: Registry) => r.counter({ name: 'x_total', help: '', labelNames: ['a'] }).inc()],
  ])('refuses %s with MetricDefinitionError', (_what, f) => {
    expect(() => f(new Registry())).toThrow(MetricDefinitionError);
  });

  it('refuses a counter going down and NaN observations with MetricValueError', () => {
    const r = new Registry();
    expect(() => r.counter({ name: 'c_total', help: '' }).inc(-1)).toThrow(MetricValueError);
    expect(() => r.histogram({ name: 'h', help: '', buckets: [1] }).observe(NaN)).toThrow(MetricValueError);
  });

  it('treats a trailing +Inf bucket as the implicit one', () => {
    const r = new Registry();
    r.histogram({ name: 'h', help: 'H.', buckets: [1, Infinity] }).observe(3);
    expect(family(r, 'h').slice(2)).toEqual(['h_bucket{le="1"} 0', 'h_bucket{le="+Inf"} 1', 'h_sum 3', 'h_count 1']);
  });
});
