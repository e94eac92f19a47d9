import { describe, expect, it } from 'vitest';
import { MetricDefinitionError, MetricValueError } from '../../src/metrics/errors.js';
import { Registry } from '../../src/metrics/registry.js';

/** The exposition lines of one metric family (its HELP, TYPE and samples), from a full scrape. */
async function family(r: Registry, name: string): Promise<string[]> {
  const lines = (await await r.exposition()).split('\n');
  const at = lines.findIndex((l) => l.startsWith(`# HELP ${name} `));
  if (at < 0) throw new Error(`no family ${name}`);
  const out = [lines[at]!];
  for (const l of lines.slice(at + 1)) {
    if (l.startsWith('# HELP ') || l === '') break;
    out.push(l);
  }
  return out;
}

describe('registry', () => {
  it('renders a counter and a gauge with HELP, TYPE and escaped labels', async () => {
    const r = new Registry();
    const c = r.counter({ name: 'req_total', help: 'Requests.\nAll of them.', labelNames: ['method', 'path'] });
    c.labels({ method: 'GET', path: '/a"b\\c\nd' }).inc();
    c.labels({ method: 'GET', path: '/a"b\\c\nd' }).inc(2);
    c.labels({ method: 'PUT', path: '/' }).inc();
    const g = r.gauge({ name: 'temp_celsius', help: 'Temperature.' });
    g.set(21.5);
    g.inc();
    g.dec(0.5);
    expect(await family(r, 'req_total')).toEqual([
      '# HELP req_total Requests.\\nAll of them.',
      '# TYPE req_total counter',
      'req_total{method="GET",path="/a\\"b\\\\c\\nd"} 3',
      'req_total{method="PUT",path="/"} 1',
    ]);
    expect(await family(r, 'temp_celsius')).toEqual(['# HELP temp_celsius Temperature.', '# TYPE temp_celsius gauge', 'temp_celsius 22']);
  });

  it('renders histogram buckets cumulatively, with +Inf, _sum and _count', async () => {
    const r = new Registry();
    const h = r.histogram({ name: 'lat_seconds', help: 'Latency.', labelNames: ['op'], buckets: [0.1, 0.5, 1] });
    for (const v of [0.05, 0.1, 0.3, 0.7, 2, 5]) h.labels({ op: 'put' }).observe(v);
    expect(await family(r, 'lat_seconds')).toEqual([
      '# HELP lat_seconds Latency.',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{le="0.1",op="put"} 2', // 0.1 itself falls in le="0.1": upper bounds are inclusive
      'lat_seconds_bucket{le="0.5",op="put"} 3',
      'lat_seconds_bucket{le="1",op="put"} 4',
      'lat_seconds_bucket{le="+Inf",op="put"} 6',
      'lat_seconds_sum{op="put"} 8.15',
      'lat_seconds_count{op="put"} 6',
    ]);
  });

  it('renders an unlabelled histogram without observations as zeros, a labelled one as HELP and TYPE only', async () => {
    const r = new Registry();
    r.histogram({ name: 'empty_seconds', help: 'Nothing yet.', buckets: [1] });
    r.histogram({ name: 'by_op_seconds', help: 'None yet.', labelNames: ['op'], buckets: [1] });
    expect(await family(r, 'empty_seconds')).toEqual(['# HELP empty_seconds Nothing yet.', '# TYPE empty_seconds histogram', 'empty_seconds_bucket{le="1"} 0', 'empty_seconds_bucket{le="+Inf"} 0', 'empty_seconds_sum 0', 'empty_seconds_count 0']);
    expect(await family(r, 'by_op_seconds')).toEqual(['# HELP by_op_seconds None yet.', '# TYPE by_op_seconds histogram']);
  });

  it('adds the default Node.js metrics under their usual names', async () => {
    const r = new Registry();
    r.collectDefaultMetrics();
    const text = await r.exposition();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_version_info']) {
      expect(text).toContain(`\n# TYPE ${name} `);
    }
  });

  it('drops label sets beyond the limit and counts the drops', async () => {
    const r = new Registry({ labelSetsMax: 3 });
    const c = r.counter({ name: 'by_key_total', help: 'Per key.', labelNames: ['key'] });
    for (let i = 0; i < 10; i++) c.labels({ key: `k${i}` }).inc();
    c.labels({ key: 'k0' }).inc(); // an existing set still counts
    expect((await family(r, 'by_key_total')).slice(2)).toEqual(['by_key_total{key="k0"} 2', 'by_key_total{key="k1"} 1', 'by_key_total{key="k2"} 1']);
    r.callbackGauge({
      name: 'cb_gauge', help: 'Callback.', labelNames: ['i'],
      collect: (e) => {
        for (let i = 0; i < 5; i++) e(i, { i });
      },
    });
    expect((await family(r, 'cb_gauge')).slice(2)).toEqual(['cb_gauge{i="0"} 0', 'cb_gauge{i="1"} 1', 'cb_gauge{i="2"} 2']);
    // A callback's excess is dropped and counted on every scrape: cb_gauge has been scraped twice.
    expect((await family(r, 'raftkv_metrics_label_sets_dropped_total')).slice(2)).toEqual([
      'raftkv_metrics_label_sets_dropped_total{metric="by_key_total"} 7',
      'raftkv_metrics_label_sets_dropped_total{metric="cb_gauge"} 4',
    ]);
  });

  it('reads callback metrics at scrape time, sharing one perScrape read', async () => {
    const r = new Registry();
    let reads = 0;
    let term = 1;
    const snap = r.perScrape(() => {
      reads++;
      return { term, peers: term === 1 ? [2, 3] : [2] };
    });
    r.callbackGauge({ name: 'term', help: 'Term.', collect: (e) => e(snap().term) });
    r.callbackGauge({ name: 'peer_up', help: 'Peers.', labelNames: ['peer'], collect: (e) => snap().peers.forEach((p) => e(1, { peer: p })) });
    expect(await r.exposition()).toContain('\nterm 1\n# HELP peer_up Peers.\n# TYPE peer_up gauge\npeer_up{peer="2"} 1\npeer_up{peer="3"} 1\n');
    expect(reads).toBe(1);
    term = 2;
    const text = await r.exposition();
    expect(reads).toBe(2);
    expect(text).toContain('\nterm 2\n');
    expect(text).not.toContain('peer="3"'); // a label set that went away is gone
  });

  it('leaves out a family whose callback throws, counts it and serves the rest', async () => {
    const errors: string[] = [];
    const r = new Registry({ onCollectError: (m) => errors.push(m) });
    r.callbackGauge({ name: 'broken', help: 'Throws.', collect: () => { throw new Error('stopped'); } });
    r.gauge({ name: 'fine', help: 'Fine.' }).set(1);
    const text = await r.exposition();
    expect(text).not.toContain('broken');
    expect(text).toContain('\nfine 1\n');
    expect(text).toContain('raftkv_metrics_collect_errors_total 1\n');
    expect(errors).toEqual(['broken']);
  });

  it.each([
    ['a bad metric name', (r: Registry) => r.counter({ name: '1abc', help: 'h.' })],
    ['a duplicate name', (r: Registry) => { r.gauge({ name: 'dup', help: 'h.' }); r.counter({ name: 'dup', help: 'h.' }); }],
    ['a bad label name', (r: Registry) => r.counter({ name: 'x_total', help: 'h.', labelNames: ['a-b'] })],
    ['a reserved label name', (r: Registry) => r.counter({ name: 'x_total', help: 'h.', labelNames: ['__x'] })],
    ['le on a histogram', (r: Registry) => r.histogram({ name: 'h', help: 'h.', labelNames: ['le'], buckets: [1] })],
    ['unsorted buckets', (r: Registry) => r.histogram({ name: 'h', help: 'h.', buckets: [1, 1] })],
    ['no buckets', (r: Registry) => r.histogram({ name: 'h', help: 'h.', buckets: [] })],
    ['labels that do not match', (r: Registry) => r.counter({ name: 'x_total', help: 'h.', labelNames: ['a'] }).labels({ b: '1' })],
    ['missing labels', (r: Registry) => r.counter({ name: 'x_total', help: 'h.', labelNames: ['a'] }).inc()],
  ])('refuses %s with MetricDefinitionError', (_what, f) => {
    expect(() => f(new Registry())).toThrow(MetricDefinitionError);
  });

  it('refuses a counter going down and NaN observations with MetricValueError', async () => {
    const r = new Registry();
    expect(() => r.counter({ name: 'c_total', help: 'h.' }).inc(-1)).toThrow(MetricValueError);
    expect(() => r.histogram({ name: 'h', help: 'h.', buckets: [1] }).observe(NaN)).toThrow(MetricValueError);
  });

  it('treats a trailing +Inf bucket as the implicit one', async () => {
    const r = new Registry();
    r.histogram({ name: 'h', help: 'H.', buckets: [1, Infinity] }).observe(3);
    expect((await family(r, 'h')).slice(2)).toEqual(['h_bucket{le="1"} 0', 'h_bucket{le="+Inf"} 1', 'h_sum 3', 'h_count 1']);
  });
});
