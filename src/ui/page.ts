import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, RaftkvError } from '../common/errors.js';
import { Role } from '../raft/types.js';
import { EventLog, type ClusterEvent } from './events.js';
import { KeyQueryError, readKeyPage } from './keys.js';
import { RateSampler, type RatePoint } from './rates.js';
import type { GossipSource, KvSource, MetricsSource, RaftSource } from './sources.js';
import { buildView, HTTP_ADDR_TAG, progressRows, type ClusterView, type ProgressRow } from './view.js';

/** How often the page's state is sampled and pushed to open pages. */
export const UI_TICK_MS = 1_000;
/** Open event streams (browser tabs); one more is refused with 503. */
export const SSE_CLIENTS_MAX = 32;
/** A tab that stops reading is dropped once this much is queued for it. */
export const SSE_BUFFERED_BYTES_MAX = 1024 * 1024;
/** A follower asks the leader's page for replication progress; this bounds each ask. */
export const LEADER_FETCH_TIMEOUT_MS = 700;
export const LEADER_STATE_BYTES_MAX = 1024 * 1024;
/** A follower keeps asking the leader's page while its own was viewed this recently. */
export const VIEWED_RECENTLY_MS = 30_000;
/** Events sent with each update. */
export const EVENTS_SENT_MAX = 50;

/** Everything one update carries: the page re-renders from this alone. */
export interface PageState {
  readonly view: ClusterView | null;
  /** Why there is no view yet (raft not started: waiting for --bootstrap_expect peers). */
  readonly waiting: string | null;
  readonly events: readonly ClusterEvent[];
  readonly rates: readonly RatePoint[];
  /** A follower's page: the leader's rates (most writes are served there), when its page answered. */
  readonly leaderRates: readonly RatePoint[] | null;
  /** Replication progress, when this node leads; what a follower's page asks for. */
  readonly progress: readonly ProgressRow[];
  readonly atMs: number;
}

const ASSETS_DIR = join(import.meta.dirname, 'assets');
const require = createRequire(import.meta.url);
/** Path → [file, content type]. Everything the page loads is here: no build step, no CDN. */
const ASSETS: ReadonlyMap<string, readonly [string, string]> = new Map([
  ['/', [join(ASSETS_DIR, 'index.html'), 'text/html; charset=utf-8']],
  ['/app.js', [join(ASSETS_DIR, 'app.js'), 'text/javascript; charset=utf-8']],
  ['/app.css', [join(ASSETS_DIR, 'app.css'), 'text/css; charset=utf-8']],
  ['/vendor/uPlot.iife.min.js', [require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8']],
  ['/vendor/uPlot.min.css', [require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8']],
]);

export interface ClusterPageOptions {
  readonly logger: Logger;
  /** The page's own bound host:port (published in gossip so followers' pages can reach the leader's). */
  readonly httpAddr: string;
  /** Election timeout: a member not heard from for longer is shown unreachable. */
  readonly contactWarnMs: number;
  readonly metrics: MetricsSource | null;
}

/**
 * The live cluster page: static assets, GET /api/state (JSON), GET /api/events (server-sent
 * events, one update per UI_TICK_MS) and GET /api/keys (key browser). Parts attach as the node
 * builds them, like the metrics endpoint: the page answers before raft starts.
 */
export class ClusterPage {
  private raft: RaftSource | null = null;
  private gossip: GossipSource | null = null;
  private kv: KvSource | null = null;
  private readonly events = new EventLog();
  private readonly rates: RateSampler;
  private readonly clients = new Set<ServerResponse>();
  private readonly assetCache = new Map<string, Buffer>();
  private leaderProgress: { leaderId: number; rows: readonly ProgressRow[]; rates: readonly RatePoint[] } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  /** When the page or /api/state was last read: a follower only asks the leader while someone looks. */
  private viewedAtMs = 0;
  private readonly detach: Array<() => void> = [];

  constructor(private readonly o: ClusterPageOptions) {
    this.rates = new RateSampler(o.metrics);
    this.timer = setInterval(() => void this.tick(), UI_TICK_MS);
    this.timer.unref();
  }

  attachRaft(node: RaftSource): void {
    this.raft = node;
    const onLeader = (l: { id: number; term: number } | null): void => this.events.leaderChanged(l);
    node.on('leader-change', onLeader);
    this.detach.push(() => node.off('leader-change', onLeader));
  }

  attachGossip(agent: GossipSource): void {
    this.gossip = agent;
    const onMember = (e: Parameters<EventLog['gossip']>[0]): void => this.events.gossip(e);
    agent.on('member', onMember);
    this.detach.push(() => agent.off('member', onMember));
  }

  attachKv(kv: KvSource): void {
    this.kv = kv;
  }

  /**
   * Answers the page's paths; false for any other path (the caller answers 404). Never throws: a
   * malformed request target or a part that fails while the node stops gets an error answer.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://page.invalid');
    } catch {
      send(res, 400, 'text/plain; charset=utf-8', 'malformed request target\n');
      return true;
    }
    try {
      return this.route(url, req, res);
    } catch (err) {
      this.o.logger.warn({ err, path: url.pathname }, 'cluster page request failed');
      send(res, 500, 'text/plain; charset=utf-8', 'the cluster page could not answer\n');
      return true;
    }
  }

  private route(url: URL, req: IncomingMessage, res: ServerResponse): boolean {
    const asset = ASSETS.get(url.pathname);
    const api = url.pathname.startsWith('/api/') ? url.pathname : null;
    if (!asset && api === null) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed; the cluster page is read-only\n', { Allow: 'GET, HEAD' });
      return true;
    }
    if (asset) void this.serveAsset(asset, res);
    else if (api === '/api/state') {
      this.viewedAtMs = Date.now();
      send(res, 200, 'application/json', JSON.stringify(this.state()));
    }
    else if (api === '/api/events') this.openStream(req, res);
    else if (api === '/api/keys') void this.serveKeys(url.searchParams, res);
    else send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return true;
  }

  state(): PageState {
    const raft = this.raft;
    const stats = raft?.stats() ?? null;
    const view = stats === null ? null : buildView({
      stats, gossipMembers: this.gossip?.members() ?? null, gossipHealthScore: this.gossip?.healthScore ?? null,
      selfHttpAddr: this.o.httpAddr, leaderProgress: this.leaderProgress, contactWarnMs: this.o.contactWarnMs,
    });
    return {
      view, waiting: stats === null ? 'raft has not started yet (waiting for gossip peers or a join)' : null,
      events: this.events.recent(EVENTS_SENT_MAX), rates: this.rates.history(), leaderRates: this.leaderProgress?.rates ?? null,
      progress: stats && stats.raft.role === Role.Leader ? progressRows(stats) : [], atMs: Date.now(),
    };
  }

  /** Stop the ticker and end every event stream. Idempotent. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const d of this.detach.splice(0)) d();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private async tick(): Promise<void> {
    if (this.ticking) return; // a slow leader fetch must not pile up ticks
    this.ticking = true;
    try {
      const stats = this.raft?.stats();
      await this.rates.sample(Date.now(), stats?.appliedIndex ?? null);
      if (stats) {
        this.events.observe(stats);
        const viewed = this.clients.size > 0 || Date.now() - this.viewedAtMs < VIEWED_RECENTLY_MS;
        if (viewed) await this.refreshLeaderProgress(stats.raft.role === Role.Leader ? 0 : stats.raft.lead);
      }
      if (this.clients.size > 0) this.broadcast(`event: state\ndata: ${JSON.stringify(this.state())}\n\n`);
    } catch (err) {
      this.o.logger.warn({ err }, 'cluster page update failed');
    } finally {
      this.ticking = false;
    }
  }

  /** A follower asks the leader's page for its progress table; on any failure the view says so. */
  private async refreshLeaderProgress(leaderId: number): Promise<void> {
    const addr = leaderId === 0 ? undefined : this.gossip?.members().find((m) => (m.meta?.nodeId ?? m.name) === String(leaderId))?.meta?.tags[HTTP_ADDR_TAG];
    if (!addr) {
      this.leaderProgress = null;
      return;
    }
    try {
      const res = await fetch(`http://${addr}/api/state`, { signal: AbortSignal.timeout(LEADER_FETCH_TIMEOUT_MS) });
      const body = await res.text();
      if (!res.ok || body.length > LEADER_STATE_BYTES_MAX) throw new Error(`leader page answered ${res.status} (${body.length} bytes)`);
      const s = JSON.parse(body) as Partial<PageState>;
      const rows = Array.isArray(s.progress) ? s.progress : [];
      const rates = Array.isArray(s.rates) ? s.rates : [];
      this.leaderProgress = s.view?.node.id === leaderId && s.view.node.role === 'leader' ? { leaderId, rows, rates } : null;
    } catch (err) {
      this.o.logger.debug({ err, addr }, 'could not read the leader page');
      this.leaderProgress = null;
    }
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= SSE_CLIENTS_MAX) {
      send(res, 503, 'text/plain; charset=utf-8', `too many open cluster pages (at most ${SSE_CLIENTS_MAX})\n`);
      return;
    }
    const first = JSON.stringify(this.state());
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    // The browser reconnects on its own after this long when the stream breaks.
    res.write(`retry: ${UI_TICK_MS}\nevent: state\ndata: ${first}\n\n`);
    this.clients.add(res);
    const drop = (): void => {
      this.clients.delete(res);
    };
    req.on('close', drop);
    res.on('error', drop);
  }

  private broadcast(frame: string): void {
    for (const c of this.clients) {
      if (c.writableLength > SSE_BUFFERED_BYTES_MAX) {
        c.destroy();
        this.clients.delete(c);
        continue;
      }
      c.write(frame);
    }
  }

  private async serveAsset([file, type]: readonly [string, string], res: ServerResponse): Promise<void> {
    try {
      let body = this.assetCache.get(file);
      if (!body) {
        body = await readFile(file);
        this.assetCache.set(file, body);
      }
      send(res, 200, type, body);
    } catch (err) {
      this.o.logger.error({ err, file }, 'cluster page asset missing');
      send(res, 500, 'text/plain; charset=utf-8', 'asset missing from the package\n');
    }
  }

  private async serveKeys(q: URLSearchParams, res: ServerResponse): Promise<void> {
    if (!this.kv) return send(res, 503, 'application/json', JSON.stringify({ error: 'the store is not open yet' }));
    try {
      send(res, 200, 'application/json', JSON.stringify(await readKeyPage(this.kv, q)));
    } catch (err) {
      const status = err instanceof KeyQueryError || (err instanceof RaftkvError && err.code === ErrorCode.InvalidArgument) ? 400 : 500;
      send(res, status, 'application/json', JSON.stringify({ error: (err as Error).message }));
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
