/**
 * startServer with metricsAddr, in process: a single bootstrapped node on loopback. The endpoint
 * follows writes, and stop() takes it down.
 */
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../node/cluster.js';
import { useSingleNode } from './single-node.js';
import { scrape, value } from './scrape.js';

const node = useSingleNode('raftkv-metrics-');

describe('startServer metricsAddr', () => {
  it('exposes raft, kv, transport and process metrics that follow writes', async () => {
    const s = node.server();
    expect(s.metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    await waitUntil(async () => value(await scrape(s.metricsAddress!), 'raftkv_raft_is_leader') === 1, 10_000, 'node 1 to lead');
    const before = await scrape(s.metricsAddress!);
    expect(before.families.get('raftkv_raft_term')).toBe('gauge');
    expect(before.families.get('raftkv_raft_snapshots_taken_total')).toBe('counter');
    expect(before.families.get('raftkv_metrics_scrape_duration_seconds')).toBe('histogram');
    expect(value(before, 'raftkv_raft_leader_id')).toBe(1);
    expect(value(before, 'raftkv_raft_role{role="leader"}')).toBe(1);
    expect(value(before, 'raftkv_raft_role{role="follower"}')).toBe(0);
    expect(value(before, 'raftkv_raft_voters')).toBe(1);
    expect(value(before, 'raftkv_raft_term')).toBeGreaterThanOrEqual(1);
    expect(value(before, 'raftkv_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(before, 'raftkv_process_event_loop_delay_seconds{quantile="0.99"}')).toBeGreaterThanOrEqual(0);
    expect(value(before, 'raftkv_raft_leader_changes_total')).toBeGreaterThanOrEqual(1);
    expect(before.series.has('raftkv_transport_sent_bytes_total')).toBe(true);
    expect(before.series.has('raftkv_gossip_members{state="alive"}')).toBe(false); // no gossip configured

    const writes = 25;
    for (let i = 0; i < writes; i++) await node.client().put(`k/${i}`, `v${i}`);
    await waitUntil(async () => {
      const after = await scrape(s.metricsAddress!);
      return value(after, 'raftkv_raft_applied_index') >= value(before, 'raftkv_raft_applied_index') + writes;
    }, 10_000, 'the writes to apply');
    const after = await scrape(s.metricsAddress!);
    expect(value(after, 'raftkv_raft_commit_index')).toBeGreaterThanOrEqual(value(before, 'raftkv_raft_commit_index') + writes);
    expect(value(after, 'raftkv_raft_last_log_index')).toBeGreaterThanOrEqual(value(after, 'raftkv_raft_commit_index'));
    expect(value(after, 'raftkv_raft_log_bytes')).toBeGreaterThan(value(before, 'raftkv_raft_log_bytes'));
    expect(value(after, 'raftkv_kv_keys')).toBe(writes);
    expect(value(after, 'raftkv_kv_revision')).toBeGreaterThanOrEqual(writes);
    expect(value(after, 'raftkv_metrics_scrape_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(value(after, 'raftkv_metrics_collect_errors_total')).toBe(0);
  });

  it('stop() takes the endpoint down', async () => {
    const addr = node.server().metricsAddress!;
    await node.server().stop();
    await expect(scrape(addr)).rejects.toThrow(/ECONNREFUSED/);
  });
});
