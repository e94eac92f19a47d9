import { afterEach, describe, expect, it } from 'vitest';
import { registerProcessMetrics } from '../../src/metrics/process-collector.js';
import { Registry } from '../../src/metrics/registry.js';
import { waitUntil } from '../node/cluster.js';
import { parseExposition, value } from './scrape.js';

let stop: (() => void) | null = null;
afterEach(() => stop?.());

describe('process metrics', () => {
  it('reports memory, uptime and an event-loop stall in the window since the previous scrape', async () => {
    const r = new Registry();
    stop = registerProcessMetrics(r).stop;
    const first = parseExposition(await r.exposition());
    expect(value(first, 'raftkv_process_resident_memory_bytes')).toBeGreaterThan(1024 * 1024);
    expect(value(first, 'raftkv_process_heap_used_bytes')).toBeGreaterThan(0);
    expect(value(first, 'raftkv_process_uptime_seconds')).toBeGreaterThan(0);
    expect(value(first, 'raftkv_process_cpu_seconds_total')).toBeGreaterThan(0);
    const blockedMs = 150;
    const t0 = performance.now();
    while (performance.now() - t0 < blockedMs) {
      // Busy: the event loop cannot run the monitor's timer.
    }
    let maxSeconds = 0;
    // The monitor records the stall when its timer next runs; every scrape starts a new window.
    await waitUntil(async () => {
      maxSeconds = Math.max(maxSeconds, value(parseExposition(await r.exposition()), 'raftkv_process_event_loop_delay_seconds{quantile="1"}'));
      return maxSeconds >= 0.1;
    }, 5_000, 'the stall to show up as event-loop delay');
    expect(maxSeconds).toBeLessThan(5);
  });
});
