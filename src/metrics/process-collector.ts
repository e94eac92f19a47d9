import { createHistogram } from 'node:perf_hooks';
import type { Registry } from './registry.js';

/** The event-loop delay sampler's interval; finer costs more timer wake-ups. */
export const EVENT_LOOP_SAMPLE_MS = 20;

const NS_PER_S = 1e9;
const US_PER_S = 1e6;

/**
 * Process gauges read at scrape time, plus an event-loop delay sampler (the signal Lifeguard uses
 * for local health too). Delay quantiles cover the time since the previous scrape, so a stall
 * shows up once and then clears. Returns stop(), which stops the sampler.
 */
export function registerProcessMetrics(r: Registry): { stop(): void } {
  const loop = startLoopDelaySampler();
  const startedAtMs = Date.now() - process.uptime() * 1000;
  r.callbackGauge({ name: 'raftkv_process_start_time_seconds', help: 'Start time of the process since the Unix epoch, in seconds.', collect: (e) => e(Math.round(startedAtMs) / 1000) });
  r.callbackGauge({ name: 'raftkv_process_uptime_seconds', help: 'Seconds since the process started.', collect: (e) => e(process.uptime()) });
  r.callbackGauge({ name: 'raftkv_process_resident_memory_bytes', help: 'Resident set size in bytes.', collect: (e) => e(process.memoryUsage.rss()) });
  const mem = r.perScrape(() => process.memoryUsage());
  r.callbackGauge({ name: 'raftkv_process_heap_used_bytes', help: 'V8 heap in use, in bytes.', collect: (e) => e(mem().heapUsed) });
  r.callbackGauge({ name: 'raftkv_process_external_memory_bytes', help: 'Memory of C++ objects bound to JavaScript (buffers), in bytes.', collect: (e) => e(mem().external) });
  r.callbackCounter({
    name: 'raftkv_process_cpu_seconds_total', help: 'CPU time used by the process, user and system, in seconds.',
    collect: (e) => {
      const u = process.cpuUsage();
      e((u.user + u.system) / US_PER_S);
    },
  });
  // Read once per scrape, then reset: the window is "since the previous scrape".
  const delay = r.perScrape(() => {
    const window = { p50: loop.percentile(50), p99: loop.percentile(99), max: loop.max, count: loop.count };
    loop.reset();
    return window;
  });
  r.callbackGauge({
    name: 'raftkv_process_event_loop_delay_seconds', help: 'Event-loop delay since the previous scrape, by quantile (0 when nothing was sampled).',
    labelNames: ['quantile'],
    collect: (e) => {
      const d = delay();
      const s = (ns: number): number => (d.count === 0 ? 0 : ns / NS_PER_S);
      e(s(d.p50), { quantile: '0.5' });
      e(s(d.p99), { quantile: '0.99' });
      e(s(d.max), { quantile: '1' });
    },
  });
  return { stop: () => loop.stop() };
}

/**
 * How late a timer of EVENT_LOOP_SAMPLE_MS fires is the loop's delay. Not monitorEventLoopDelay:
 * its reset() also forgets the interval in progress, so a stall followed at once by a scrape (the
 * scrape resets the window) was never recorded. Here the sampler keeps its own clock, and
 * resetting the histogram loses nothing.
 */
function startLoopDelaySampler(): { percentile(p: number): number; readonly max: number; readonly count: number; reset(): void; stop(): void } {
  const h = createHistogram();
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const lateNs = Math.round((now - last - EVENT_LOOP_SAMPLE_MS) * 1e6);
    last = now;
    h.record(Math.max(1, lateNs)); // the histogram takes integers >= 1
  }, EVENT_LOOP_SAMPLE_MS);
  timer.unref();
  return {
    percentile: (p) => h.percentile(p),
    get max() {
      return h.max;
    },
    get count() {
      return h.count;
    },
    reset: () => h.reset(),
    stop: () => clearInterval(timer),
  };
}
