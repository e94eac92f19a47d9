import { formatHostPort, parseHostPort } from '../common/host-port.js';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { pino, type Logger } from 'pino';
import { PACKAGE_VERSION } from '../common/version.js';
import { KvStore } from '../kv/store.js';
import { encodeCommand } from '../kv/codec.js';
import { validateCommand } from '../kv/validate.js';
import type { NodeId } from '../raft/types.js';
import { StaticResolver } from '../resolver/static.js';
export { parsePeers, checkHostPort } from '../resolver/static.js';
import type { AddressResolver } from '../resolver/types.js';
import { startGrpcServer, type RaftkvGrpcServer } from '../service/grpc-server.js';
import type { ServiceAuth, ServiceLeases, ServiceMaintenance, ServiceOptions } from '../service/deps.js';
import { directoryBytes } from './disk-usage.js';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { JwtTokens } from '../auth/jwt.js';
import { SimpleTokens } from '../auth/simple-tokens.js';
import { SIMPLE_TOKEN_TTL_S_DEFAULT, type TokenConfig } from '../auth/token-config.js';
import { systemClock } from '../common/clock.js';
import { systemTimers } from '../common/timers.js';
import { Lessor } from './lessor.js';
import { AutoCompactor, type AutoCompactionOptions } from './auto-compactor.js';
import { startNodeMetrics, type NodeMetrics } from '../metrics/node-metrics.js';
import { nodePaths } from '../storage/node-meta.js';
import { ClusterPage, startUiHttpServer, type UiHttpServer } from '../ui/index.js';
import type { GossipAgent } from './gossip-agent.js';
import { MemberState } from '../gossip/index.js';
import { memberNodeId } from '../resolver/gossip-resolver.js';
import { Autopilot } from './autopilot.js';
import { GOSSIP_KEYRING_FILE } from './gossip-keyring.js';
import { awaitBootstrapChoice, isFreshRaftDir, publishInCluster, startGossip, type GossipOptions } from './gossip-setup.js';
import { KvStateMachine } from './kv-state-machine.js';
import { NODE_DEFAULTS, type RaftNodeOptions } from './options.js';
import { RaftNode } from './raft-node.js';
import { NodeTls, type NodeTlsOptions } from './tls-setup.js';
import { issuedByOneOf } from '../transport/tls/files.js';
export type { GossipOptions } from './gossip-setup.js';

export interface ServerOptions {
  readonly id: NodeId;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  readonly dataDir: string;
  /** Bootstrap a single-node cluster of just this node when the data directory is empty. */
  readonly bootstrap?: boolean;
  /** Other nodes' gRPC addresses (the static resolver); this node's own bound address is added. */
  readonly peers?: ReadonlyMap<NodeId, string>;
  /**
   * Raft addresses of the current members, for a node that is about to join: a fresh node learns
   * addresses only from log entries it has not received yet, so without these it could not answer
   * the leader. Given to the node with setPeerAddress once it runs.
   */
  readonly knownRaftPeers?: ReadonlyMap<NodeId, string>;
  /** Use this resolver instead of a StaticResolver over `peers`. */
  readonly resolver?: AddressResolver;
  readonly logger?: Logger;
  readonly raft?: Partial<Pick<RaftNodeOptions, 'tickMs' | 'electionTicks' | 'heartbeatTicks' | 'snapshotEntries' | 'snapshotIntervalMs' | 'trailingLogs' | 'pendingProposalsMax' | 'pendingReadsMax' | 'clusterId'>>;
  readonly service?: ServiceOptions;
  /** In-flight gRPC calls get this long to finish on stop() before they are cut off. */
  readonly drainGraceMs?: number;
  /** Discovery and membership through gossip (`--gossip_addr`, `--gossip_seeds`, `--bootstrap_expect`). */
  readonly gossip?: GossipOptions;
  /** etcd's auto-compaction (`--auto_compaction_mode`, `--auto_compaction_retention`); absent: off. */
  readonly autoCompaction?: AutoCompactionOptions;
  /** host:port for the Prometheus endpoint (GET /metrics); absent: no endpoint. Port 0 picks a free one. */
  readonly metricsAddr?: string;
  /** TLS per port (client gRPC, peer raft and forwarding, metrics); absent: plaintext everywhere. */
  readonly tls?: NodeTlsOptions;
  /**
   * host:port for the live cluster page (GET /); absent: no page. The same address as metricsAddr
   * serves both from one listener. Port 0 picks a free one.
   */
  readonly httpAddr?: string;
  /** Auth tokens (`--auth_token`, `--auth_token_ttl`); default: simple tokens living 300 s. */
  readonly auth?: AuthOptions;
}

export interface AuthOptions {
  readonly token: TokenConfig;
  /** Simple tokens: seconds a token lives after its last use (etcd's --auth-token-ttl). */
  readonly simpleTokenTtlSeconds?: number;
}

export interface ServerHandle {
  readonly id: NodeId;
  readonly node: RaftNode;
  readonly store: KvStore;
  readonly grpcAddress: string;
  readonly raftAddress: string;
  readonly gossip: GossipAgent | null;
  /** The bound host:port of GET /metrics, or null without `metricsAddr`. */
  readonly metricsAddress: string | null;
  /** Re-reads every TLS certificate, key and CA (SIGHUP); a part that fails keeps its old material. */
  reloadTls(): { reloaded: string[]; failed: string[] };
  /** The bound host:port of the cluster page, or null without `httpAddr`. */
  readonly httpAddress: string | null;
  /** Graceful: hand off leadership, leave gossip, drain gRPC, stop raft, close the store. Idempotent. */
  stop(): Promise<void>;
}

const DRAIN_GRACE_MS_DEFAULT = 5_000;
const LEAVE_TIMEOUT_MS_DEFAULT = 3_000;
const TRANSFER_TIMEOUT_MS = 2_000;

/** What stop() has to undo, in reverse order of creation. */
interface Parts {
  store: KvStore;
  resolver: AddressResolver;
  node: RaftNode | null;
  grpc: RaftkvGrpcServer | null;
  gossip: GossipAgent | null;
  autopilot: Autopilot | null;
  metrics: NodeMetrics | null;
  tls: NodeTls | null;
  lessor: Lessor | null;
  compactor: AutoCompactor | null;
  page: ClusterPage | null;
  pageServer: UiHttpServer | null;
  stopPublish: () => void;
}

/**
 * The composition root: KV store, gossip (if configured; it may decide a bootstrap_expect
 * bootstrap), raft node, gRPC server, autopilot; stop() undoes them in reverse.
 */
export async function startServer(o: ServerOptions, signal?: AbortSignal): Promise<ServerHandle> {
  // The caller's logger already names the node (the CLI puts nodeId in its base).
  const log = o.logger ?? pino({ level: 'silent' }).child({ nodeId: o.id });
  const store = await KvStore.open({ dir: nodePaths(o.dataDir, o.id).kv });
  const staticResolver = o.resolver ? null : new StaticResolver(o.peers ?? new Map());
  const p: Parts = { store, resolver: o.resolver ?? staticResolver!, node: null, grpc: null, gossip: null, autopilot: null, metrics: null, tls: null, lessor: null, compactor: null, page: null, pageServer: null, stopPublish: () => undefined };
  try {
    // Certificates are read (and checked) before anything listens: a bad path fails the start.
    const tls = o.tls ? new NodeTls(o.tls, log) : null;
    p.tls = tls;
    if (o.metricsAddr !== undefined || o.httpAddr !== undefined) {
      // First, so a node still waiting for --bootstrap_expect can be scraped; parts attach as they start.
      // The cluster page's charts read the gRPC metrics, so they are kept (without a listener) for it too.
      p.metrics = await startNodeMetrics({ addr: o.metricsAddr ?? null, logger: log, ...(tls?.metrics ? { tls: tls.metrics } : {}) });
      p.metrics.attachKv(() => store.stats());
      // Always exported (zero without TLS), so dashboards and alerts need no per-node setup.
      p.metrics.attachPeerRefusals(() => tls?.refusalCounts() ?? { raft_inbound: 0, raft_outbound: 0, forward: 0 });
    }
    const httpAddress = o.httpAddr === undefined ? null : await startPage(o, p, log);
    p.page?.attachKv(store);
    let raftAddr = o.raftAddr;
    let grpcAddr = o.grpcAddr;
    let bootstrap: ReadonlyMap<NodeId, string> | undefined = o.bootstrap ? new Map([[o.id, o.raftAddr]]) : undefined;
    let gossipStarted: Awaited<ReturnType<typeof startGossip>> | null = null;
    if (o.gossip) {
      // Gossip publishes our addresses before raft and gRPC listen, so port 0 is settled here.
      raftAddr = await concreteAddress(raftAddr);
      grpcAddr = await concreteAddress(grpcAddr);
      // The keyring lives in the node's directory unless --gossip_keyring_file names another place.
      const keyringFile = o.gossip.keyringFile ?? join(nodePaths(o.dataDir, o.id).root, GOSSIP_KEYRING_FILE);
      gossipStarted = await startGossip(o.id, { raft: raftAddr, grpc: grpcAddr, http: httpAddress }, { ...o.gossip, keyringFile }, log, p.resolver, signal);
      p.gossip = gossipStarted.agent;
      p.metrics?.attachGossip(gossipStarted.agent);
      p.page?.attachGossip(gossipStarted.agent);
      p.resolver = gossipStarted.resolver;
      const expect = o.gossip.bootstrapExpect ?? 0;
      if (!o.bootstrap && expect > 0 && (await isFreshRaftDir(o.dataDir, o.id))) {
        const choice = await awaitBootstrapChoice(gossipStarted.agent, o.id, expect, log, signal);
        if (choice.kind === 'bootstrap') bootstrap = choice.voters;
      }
    }
    const gossipResolver = gossipStarted?.resolver;
    const node = await RaftNode.start(
      {
        id: o.id,
        raftAddr,
        dataDir: o.dataDir,
        stateMachine: new KvStateMachine(store),
        logger: log,
        ...(tls?.raft ? { peerTls: tls.raft } : {}),
        ...o.raft,
        ...(bootstrap ? { bootstrap } : {}),
        ...(gossipResolver ? { resolveRaftAddress: (id: NodeId) => gossipResolver.raftAddress(id) } : {}),
      },
      signal,
    );
    p.node = node;
    p.metrics?.attachRaft(node);
    p.page?.attachRaft(node);
    for (const [id, addr] of o.knownRaftPeers ?? []) if (id !== o.id) await node.setPeerAddress(id, addr);
    const raftAddress = node.raftAddress();
    const kv = {
      validateCommand,
      encodeCommand,
      get: (key: Uint8Array, atRevision?: number) => store.get(key, atRevision),
      range: (op: Parameters<KvStore['range']>[0], atRevision?: number) => store.range(op, atRevision),
      waitCompacted: (revision: number, signal?: AbortSignal) => store.waitCompacted(revision, signal),
      watch: (opts: Parameters<KvStore['watch']>[0]) => store.watch(opts),
      stats: () => store.stats(),
    };
    p.lessor = startLessor(node, store, log, { ...NODE_DEFAULTS, ...o.raft });
    if (o.autoCompaction) p.compactor = startAutoCompactor(node, store, log, o.autoCompaction);
    const learn = staticResolver ? (id: number, addr: string) => staticResolver.set(id, addr) : undefined;
    const gossipAgent = gossipStarted?.agent;
    const gossipDeps = gossipAgent ? {
      keyring: gossipStarted!.keyring,
      aliveMembers: () => gossipAgent.members().flatMap((m) => {
        const id = memberNodeId(m);
        return id !== null && m.state === MemberState.Alive && m.meta ? [{ id, grpcAddr: m.meta.grpcAddr }] : [];
      }),
    } : undefined;
    const scratchDir = await emptyScratch(nodePaths(o.dataDir, o.id).scratch);
    p.grpc = await startGrpcServer({
      node, kv, resolver: p.resolver, logger: log, leases: leasesForService(p.lessor, store), auth: authForService(o, store, p.tls), maintenance: maintenanceForService(store, nodePaths(o.dataDir, o.id).kv), ...(gossipDeps ? { gossip: gossipDeps } : {}), options: { clusterName: o.raft?.clusterId ?? NODE_DEFAULTS.clusterId, version: PACKAGE_VERSION, scratchDir, ...o.service },
      // Only with --metrics_addr: without it the handlers are not wrapped at all.
      ...(p.metrics ? { observe: p.metrics.observeGrpc } : {}),
    }, grpcAddr, learn ? { learnAddress: learn } : {}, tls?.grpc ?? {});
    staticResolver?.set(o.id, p.grpc.address);
    if (gossipStarted) {
      p.stopPublish = publishInCluster(gossipStarted.agent, node, gossipStarted.meta);
      const r = { ...NODE_DEFAULTS, ...o.raft };
      p.autopilot = new Autopilot({
        node, gossip: gossipStarted.agent, logger: log, lastContactMaxMs: r.tickMs * r.electionTicks,
        ...(o.gossip?.autopilot ? { config: o.gossip.autopilot } : {}),
        ...(o.gossip?.reconcileIntervalMs ? { reconcileIntervalMs: o.gossip.reconcileIntervalMs } : {}),
      });
      p.autopilot.start();
    }
    log.info({ raftAddr: raftAddress, grpcAddr: p.grpc.address, gossipAddr: p.gossip?.address, metricsAddr: p.metrics?.address ?? undefined, httpAddr: httpAddress ?? undefined }, 'server started');
    return makeHandle(o, log, p, raftAddress, httpAddress);
  } catch (e) {
    await teardown(p, 0).catch(() => undefined);
    throw e;
  }
}

/** Undo what startServer built, newest first; every step runs, the first failure is rethrown. */
async function teardown(p: Parts, drainGraceMs: number): Promise<void> {
  const failures: unknown[] = [];
  const step = async (f: () => unknown): Promise<void> => {
    try {
      await f();
    } catch (err) {
      failures.push(err);
    }
  };
  // Metrics and the page first (not in reverse order): they must not read parts that are being closed.
  await step(() => p.page?.close());
  await step(() => p.pageServer?.close());
  await step(() => p.metrics?.close());
  await step(() => p.stopPublish());
  await step(() => p.autopilot?.stop());
  await step(() => p.grpc?.shutdown(drainGraceMs));
  await step(() => p.lessor?.stop());
  await step(() => p.compactor?.stop());
  await step(() => p.node?.stop());
  await step(() => p.store.close());
  await step(() => p.resolver.close());
  await step(() => p.gossip?.stop());
  await step(() => p.tls?.close());
  if (failures.length > 0) throw failures[0];
}

function makeHandle(o: ServerOptions, log: Logger, p: Parts, raftAddress: string, httpAddress: string | null): ServerHandle {
  const node = p.node!;
  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    const t0 = Date.now();
    p.stopPublish();
    await p.autopilot?.stop();
    if (node.isLeader() && node.stats().raft.conf.voters.length > 1) {
      try {
        await node.transferLeadership(null, { signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) });
        log.info({ leader: node.leader()?.id }, 'handed leadership off before stopping');
      } catch (err) {
        log.warn({ err }, 'leadership transfer before stopping failed; stopping anyway');
      }
    }
    if (p.gossip) {
      // Peers mark us "left"; the leader's autopilot then removes us from the raft configuration.
      const told = await p.gossip.leave(o.gossip?.leaveTimeoutMs ?? LEAVE_TIMEOUT_MS_DEFAULT).catch(() => false);
      log.info({ told }, 'left gossip');
    }
    await teardown(p, o.drainGraceMs ?? DRAIN_GRACE_MS_DEFAULT);
    log.info({ ms: Date.now() - t0 }, 'server stopped');
  };
  return {
    id: o.id,
    node,
    store: p.store,
    grpcAddress: p.grpc!.address,
    raftAddress,
    gossip: p.gossip,
    metricsAddress: p.metrics?.address ?? null,
    reloadTls: () => p.tls?.reload() ?? { reloaded: [], failed: [] },
    httpAddress,
    stop: () => (stopping ??= stop()),
  };
}

/** The lease timer of this node: it expires leases (by proposing revocations) while this node leads. */
function startLessor(node: RaftNode, store: KvStore, log: Logger, timing: { tickMs: number; electionTicks: number }): Lessor {
  const lessor = new Lessor({
    clock: systemClock,
    timers: systemTimers,
    leases: () => store.leases(),
    onLeaseChange: (l) => store.onLeaseChange(l),
    isLeader: () => node.isLeader(),
    onLeaderChange: (l) => (node.on('leader-change', l), () => void node.off('leader-change', l)),
    proposeRevoke: async (id, signal) => void (await node.apply(encodeCommand({ op: { kind: 'leaseRevoke', leaseRevoke: { id } }, requestId: null }), { signal })),
    logger: log,
  }, timing);
  lessor.start();
  return lessor;
}

/** etcd's auto-compaction (--auto_compaction_mode): the leader proposes Compact commands. */
function startAutoCompactor(node: RaftNode, store: KvStore, log: Logger, opts: AutoCompactionOptions): AutoCompactor {
  const compactor = new AutoCompactor({
    clock: systemClock,
    timers: systemTimers,
    isLeader: () => node.isLeader(),
    revisions: () => store.stats(),
    proposeCompact: async (revision, signal) => void (await node.apply(encodeCommand({ op: { kind: 'compact', compact: { revision } }, requestId: null }), { signal })),
    logger: log,
  }, opts);
  compactor.start();
  return compactor;
}

/** The scratch directory, emptied: what a request left when the node died is of no use to anyone. */
async function emptyScratch(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

function leasesForService(lessor: Lessor, store: KvStore): ServiceLeases {
  return {
    minTtlSeconds: lessor.minTtlSeconds,
    renew: (id) => lessor.renew(id),
    timeToLive: (id) => lessor.timeToLive(id),
    list: () => lessor.list(),
    keys: (id) => store.leaseKeys(id),
  };
}

/** etcd's Status sizes (the state machine's directory on disk) and Defragment (its LevelDB compacted). */
function maintenanceForService(store: KvStore, kvDir: string): ServiceMaintenance {
  return {
    diskUsage: async () => {
      // LevelDB does not tell live bytes from garbage awaiting compaction: both figures are the files' size.
      const bytes = await directoryBytes(kvDir);
      return { dbSizeBytes: bytes, inUseBytes: bytes };
    },
    defragment: (signal) => store.defragment(signal),
  };
}

/**
 * Auth for the service: the store's applied auth state, and the tokens. Simple tokens are learnt by
 * applying Authenticate commands and forgotten when auth is turned off, when their user is deleted
 * or changes password, and on a snapshot restore (a member that missed those changes must not keep
 * honouring old tokens).
 */
function authForService(o: ServerOptions, store: KvStore, tls: NodeTls | null): ServiceAuth {
  const token = o.auth?.token ?? { kind: 'simple' };
  const simple = token.kind === 'simple' ? new SimpleTokens(systemClock, (o.auth?.simpleTokenTtlSeconds ?? SIMPLE_TOKEN_TTL_S_DEFAULT) * 1000) : null;
  const jwt = token.kind === 'jwt'
    ? new JwtTokens({
      method: token.method,
      ...(token.privKeyFile !== undefined ? { privateKey: readFileSync(token.privKeyFile) } : {}),
      ...(token.pubKeyFile !== undefined ? { publicKey: readFileSync(token.pubKeyFile) } : {}),
    }, token.ttlMs)
    : null;
  if (simple !== null) {
    store.onAuthChange((c) => {
      if (c.kind === 'reset') return simple.clear();
      const cmd = c.command;
      if (cmd.kind === 'authenticate') simple.add(cmd.token, cmd.name);
      else if (cmd.kind === 'disable') simple.clear();
      else if (cmd.kind === 'userDelete' || cmd.kind === 'userChangePassword') simple.invalidateUser(cmd.name);
    });
  }
  return {
    state: () => store.auth(),
    simple,
    jwt,
    clientCertAuth: o.tls?.client?.clientCertAuth ?? false,
    // The server refuses a call marked forwarded without a peer-CA certificate only with both TLS parts.
    trustForwardedUser: o.tls?.client !== undefined && o.tls.peer !== undefined,
    ...(tls?.raft ? { isMemberCertificate: (raw: Buffer) => issuedByOneOf(raw, tls.raft!.files.material.caCerts) } : {}),
  };
}

/**
 * The cluster page on its own listener, or on the metrics listener when both addresses are the
 * same. Returns the page's bound host:port.
 */
async function startPage(o: ServerOptions, p: Parts, log: Logger): Promise<string> {
  const r = { ...NODE_DEFAULTS, ...o.raft };
  const make = (httpAddr: string): ClusterPage => new ClusterPage({ logger: log, httpAddr, contactWarnMs: r.tickMs * r.electionTicks, metrics: p.metrics?.registry ?? null });
  if (o.httpAddr === o.metricsAddr && p.metrics?.address) {
    // The page reads every key: on the metrics listener it has that listener's TLS (server side only).
    if (p.tls?.page?.requireClientCert) log.warn('the cluster page shares the metrics listener, which asks for no client certificate: give it its own --http_addr to require one as the client port does');
    const page = make(p.metrics.address);
    p.page = page;
    p.metrics.addRoutes((req, res) => page.handle(req, res));
    return p.metrics.address;
  }
  let page: ClusterPage | null = null;
  const t = p.tls?.page;
  const tls = t ? { contextOptions: () => t.files.contextOptions(), onChange: (l: () => void) => t.files.onChange(l), requireClientCert: t.requireClientCert } : undefined;
  p.pageServer = await startUiHttpServer(o.httpAddr!, (req, res) => page?.handle(req, res) ?? false, tls);
  page = make(p.pageServer.address);
  p.page = page;
  return p.pageServer.address;
}

/**
 * `host:0` becomes `host:<a free port>`: gossip must publish the address before the server binds.
 * Another process could take the port in between; then the bind fails loudly and the node exits.
 */
async function concreteAddress(addr: string): Promise<string> {
  const { host, port: asked } = parseHostPort(addr, { portZero: true });
  if (asked !== 0) return addr;
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const chosen = (s.address() as { port: number }).port;
      s.close(() => resolve(chosen));
    });
  });
  return formatHostPort(host, port);
}
