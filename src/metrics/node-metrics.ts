import type { Logger } from 'pino';
import type { KvStats } from '../kv/store.js';
import { registerGossipMetrics, type GossipSource } from './gossip-collector.js';
import { registerGrpcMetrics } from './grpc-collector.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startMetricsServer, type MetricsServer, type MetricsTls } from './http-server.js';
import { registerKvMetrics } from './kv-collector.js';
import { registerProcessMetrics } from './process-collector.js';
import { registerRaftMetrics, type RaftStatsSource } from './raft-collector.js';
import { Registry } from './registry.js';
import { registerPeerTlsMetrics, registerTransportMetrics, type PeerRefusalCounts } from './transport-collector.js';

/** A scrape renders in about a millisecond (prom-client, default metrics included); the upper buckets catch a stalled loop. */
const SCRAPE_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

export interface RaftMetricsSource extends RaftStatsSource {
  on(event: 'leader-change', listener: (leader: unknown) => void): unknown;
}

/**
 * A node's metrics endpoint. It listens before raft starts, so a node waiting for
 * --bootstrap_expect can be scraped; the composition root attaches each part once it exists.
 */
export interface NodeMetrics {
  readonly registry: Registry;
  /** The bound host:port of GET /metrics; null when started without an address (registry only, for the cluster page). */
  readonly address: string | null;
  attachRaft(node: RaftMetricsSource): void;
  attachKv(stats: () => KvStats): void;
  attachGossip(agent: GossipSource): void;
  /** Peers and forwarded calls refused for lack of a certificate from the peer CA. */
  attachPeerRefusals(counts: () => PeerRefusalCounts): void;
  /** The gRPC server's per-call callback: counts each call by method and status and times it. */
  readonly observeGrpc: (method: string, code: string, seconds: number) => void;
  /**
   * Serve more paths on this listener (the cluster page when --http_addr equals --metrics_addr);
   * `route` returns true when it answered.
   */
  addRoutes(route: (req: IncomingMessage, res: ServerResponse) => boolean): void;
  /** Stop serving (in-flight scrapes get `graceMs`) and stop the event-loop monitor. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

export async function startNodeMetrics(o: { addr: string | null; logger: Logger; tls?: MetricsTls }): Promise<NodeMetrics> {
  const warned = new Set<string>();
  const registry = new Registry({
    onCollectError: (metric, err) => {
      // Once per metric: a scraper every few seconds would otherwise repeat the same line forever.
      if (warned.has(metric)) return;
      warned.add(metric);
      o.logger.warn({ err, metric }, 'a metric could not be collected; it is left out of scrapes while this lasts');
    },
  });
  const proc = registerProcessMetrics(registry);
  registry.collectDefaultMetrics();
  const observeGrpc = registerGrpcMetrics(registry);
  const scrapeSeconds = registry.histogram({ name: 'raftkv_metrics_scrape_duration_seconds', help: 'Time to collect and render one scrape, in seconds.', buckets: SCRAPE_SECONDS_BUCKETS });
  let extraRoutes: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  let s: MetricsServer | null = null;
  try {
    if (o.addr !== null) s = await startMetricsServer({
      addr: o.addr,
      render: async () => {
        const t0 = performance.now();
        const body = await registry.exposition();
        scrapeSeconds.observe((performance.now() - t0) / 1000);
        return body;
      },
      onError: (err) => o.logger.error({ err }, 'metrics scrape failed'),
      ...(o.tls ? { tls: o.tls } : {}),
      extraRoutes: (req, res) => extraRoutes?.(req, res) ?? false,
    });
  } catch (e) {
    proc.stop();
    throw e;
  }
  return {
    registry,
    address: s?.address ?? null,
    attachRaft: (node) => {
      // One stats() per scrape, shared by the raft and transport families.
      const stats = registry.perScrape(() => node.stats());
      registerRaftMetrics(registry, { stats });
      registerTransportMetrics(registry, () => stats().transport);
      const changes = registry.counter({ name: 'raftkv_raft_leader_changes_total', help: 'Leader changes this node observed (including losing the leader).' });
      node.on('leader-change', () => changes.inc());
    },
    attachKv: (stats) => registerKvMetrics(registry, stats),
    attachGossip: (agent) => registerGossipMetrics(registry, agent),
    attachPeerRefusals: (counts) => registerPeerTlsMetrics(registry, counts),
    observeGrpc,
    addRoutes: (route) => {
      extraRoutes = route;
    },
    close: async (graceMs) => {
      proc.stop();
      await s?.close(graceMs);
    },
  };
}
