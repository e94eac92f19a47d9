/**
 * `raftkv serve --metrics_addr` end to end: three child processes form a cluster through gossip
 * (--bootstrap_expect=3); each serves GET /metrics. Exactly one reports itself leader, all agree on
 * who, commit indexes follow writes on every node, and gossip counts three alive members.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';
import { freePort } from '../support/free-port.js';
import { metricFamiliesIn, monitoringExpressions } from './monitoring-docs.js';
import { scrape, value, type Scrape } from './scrape.js';

const IDS = [1, 2, 3];
let cluster: GossipCluster | null = null;
const metricsAddrs = new Map<number, string>();

afterAll(async () => {
  await cluster?.stop(); // SIGKILLs every node it spawned and removes the data directory
});

async function scrapeAll(): Promise<Map<number, Scrape>> {
  const out = new Map<number, Scrape>();
  for (const id of IDS) out.set(id, await scrape(metricsAddrs.get(id)!));
  return out;
}

describe('raftkv serve --metrics_addr (3 nodes)', () => {
  it('reports one leader, commit indexes that follow writes, and gossip membership', async () => {
    const c = await GossipCluster.create(3);
    cluster = c;
    for (const id of IDS) metricsAddrs.set(id, `127.0.0.1:${await freePort()}`);
    await Promise.all(IDS.map((id) => c.spawn(id, ['--bootstrap_expect=3', `--metrics_addr=${metricsAddrs.get(id)}`])));

    let scrapes = new Map<number, Scrape>();
    await c.waitFor(async () => {
      scrapes = await scrapeAll();
      const leaders = IDS.filter((id) => value(scrapes.get(id)!, 'raftkv_raft_is_leader') === 1);
      const leaderIds = new Set(IDS.map((id) => value(scrapes.get(id)!, 'raftkv_raft_leader_id')));
      const voters = IDS.map((id) => value(scrapes.get(id)!, 'raftkv_raft_voters'));
      return leaders.length === 1 && leaderIds.size === 1 && leaderIds.has(leaders[0]!) && voters.every((v) => v === 3);
    }, 30_000, 'exactly one leader that every node names, and 3 voters everywhere');
    const leader = IDS.find((id) => value(scrapes.get(id)!, 'raftkv_raft_is_leader') === 1)!;
    for (const id of IDS) {
      const s = scrapes.get(id)!;
      expect(value(s, `raftkv_raft_role{role="${id === leader ? 'leader' : 'follower'}"}`)).toBe(1);
      expect(s.families.get('raftkv_gossip_members')).toBe('gauge');
      expect(value(s, 'raftkv_gossip_health_score')).toBeGreaterThanOrEqual(0);
      expect(value(s, 'raftkv_process_uptime_seconds')).toBeGreaterThan(0);
    }
    // The leader tracks its followers' replication; followers have heard from the leader.
    const ls = scrapes.get(leader)!;
    for (const peer of IDS.filter((id) => id !== leader)) {
      expect(ls.series.has(`raftkv_raft_peer_match_index{peer="${peer}"}`)).toBe(true);
      expect(value(scrapes.get(peer)!, `raftkv_raft_peer_last_contact_seconds{peer="${leader}"}`)).toBeLessThan(5);
    }
    await c.waitFor(async () => {
      const all = await scrapeAll();
      return IDS.every((id) => value(all.get(id)!, 'raftkv_gossip_members{state="alive"}') === 3);
    }, 15_000, 'every node to see 3 alive gossip members');

    const commitBefore = new Map(IDS.map((id) => [id, value(scrapes.get(id)!, 'raftkv_raft_commit_index')]));
    const writes = 20;
    const client = c.node(leader === 1 ? 2 : 1).client; // through a follower: forwarded to the leader
    for (let i = 0; i < writes; i++) await client.put(`m/${i}`, String(i), { timeoutMs: 5000 });
    await c.waitFor(async () => {
      const all = await scrapeAll();
      return IDS.every((id) => {
        const s = all.get(id)!;
        return value(s, 'raftkv_raft_commit_index') >= commitBefore.get(id)! + writes
          && value(s, 'raftkv_raft_applied_index') >= commitBefore.get(id)! + writes
          && value(s, 'raftkv_kv_keys') === writes;
      });
    }, 15_000, 'commit and applied indexes to grow by the writes on every node');
    const after = await scrape(metricsAddrs.get(leader)!);
    expect(value(after, 'raftkv_transport_sent_bytes_total')).toBeGreaterThan(0);
    expect(value(after, 'raftkv_metrics_collect_errors_total')).toBe(0);

    // The README's Metrics section lists exactly the families a gossip-enabled node exposes (prom-client's defaults included).
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Metrics\n'), readme.indexOf('\n## ', readme.indexOf('\n## Metrics\n') + 1));
    const documented = new Set([...section.matchAll(/`((?:raftkv|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!));
    expect([...after.families.keys()].sort()).toEqual([...documented].sort());

    // Every metric the example alert rules and the Grafana dashboard in docs/ query exists here.
    const known = new Set(after.families.keys());
    const used = new Set(monitoringExpressions().flatMap((e) => metricFamiliesIn(e, known)));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((m) => !known.has(m))).toEqual([]);
  }, 90_000);
});
