import { pino, type Logger } from 'pino';
import { GOSSIP_PROFILES } from '../node/gossip-setup.js';
import { startServer, type GossipOptions, type ServerHandle } from '../node/server.js';
import { parseFlags, usage } from './flags.js';
import { onStopSignals, SERVE_STOP_SIGNALS } from './signals.js';
import { fetchRaftPeers, joinCluster } from './join.js';
import { memberChannelCredentials } from '../node/tls-setup.js';
import { SERVE_FLAGS, serveConfig, type ServeConfig } from './serve-flags.js';

export const SERVE_USAGE = usage(
  'Usage: raftkv serve --raft_id=<n> --raft_addr=<host:port> --grpc_addr=<host:port> --raft_data_dir=<dir> [flags]\n\n'
  + 'Runs one raftkv node. Form a cluster with gossip: give every node --gossip_addr, the same --gossip_seeds and\n'
  + '--bootstrap_expect=3 for the first three; later nodes need only --gossip_addr and --gossip_seeds (the leader adds them).\n'
  + 'Without gossip: --raft_bootstrap on the first node, --join=<member gRPC address> on the others.',
  SERVE_FLAGS,
);

/** Exit codes of `raftkv serve`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, forced: 130 } as const;

export function readServeConfig(argv: readonly string[]): ServeConfig {
  return serveConfig(parseFlags(SERVE_FLAGS, argv));
}

/**
 * Runs a node until SIGTERM/SIGINT (graceful stop; a second signal forces exit). Prints one JSON
 * "ready" line with the bound addresses on stdout, so scripts can use port 0.
 */
export async function serve(cfg: ServeConfig, exit: (code: number) => never): Promise<void> {
  const log = pino({ level: cfg.logLevel, base: { nodeId: cfg.id } }, pino.destination({ fd: 2, sync: true }));
  const stopCtl = new AbortController();
  let handle: ServerHandle | null = null;
  onStopSignals({
    graceful: (signal) => {
      log.info({ signal }, 'stopping gracefully (send the signal again to force)');
      stopCtl.abort();
      void (handle?.stop() ?? Promise.resolve()).then(
        () => exit(EXIT.ok),
        (err: unknown) => {
          log.error({ err }, 'graceful stop failed');
          exit(EXIT.failed);
        },
      );
    },
    forced: (signal) => {
      log.warn({ signal }, 'second signal: exiting now');
      exit(EXIT.forced);
    },
  }, SERVE_STOP_SIGNALS);
  // SIGHUP re-reads TLS certificates (as nginx and etcd's proxies do); without TLS it is ignored, not fatal.
  process.on('SIGHUP', () => void handle?.reloadTls());
  try {
    handle = await start(cfg, log, stopCtl.signal);
  } catch (err) {
    log.fatal({ err }, 'could not start');
    exit(EXIT.failed);
  }
  handle.node.on('fatal', (err: unknown) => {
    log.fatal({ err }, 'raft node failed; exiting');
    void handle?.stop().finally(() => exit(EXIT.failed));
  });
  const gossipAddr = handle.gossip?.address;
  const metricsAddr = handle.metricsAddress;
  const httpAddr = handle.httpAddress;
  const waitingFor = whatItWaitsFor(cfg, handle);
  process.stdout.write(`${JSON.stringify({ event: 'ready', id: cfg.id, raftAddr: handle.raftAddress, grpcAddr: handle.grpcAddress, ...(gossipAddr ? { gossipAddr } : {}), ...(metricsAddr ? { metricsAddr } : {}), ...(httpAddr ? { httpAddr } : {}), ...(waitingFor ? { waitingFor } : {}) })}\n`);
  if (waitingFor !== null) {
    log.warn({ waitingFor }, 'not a member of any cluster yet');
    process.stderr.write(`raftkv serve: node ${cfg.id} is not a member of any cluster yet; it waits ${waitingFor}\n`);
  }
  if (cfg.join !== '') {
    await joinCluster({ via: cfg.join, id: cfg.id, raftAddress: handle.raftAddress, grpcAddress: handle.grpcAddress }, log, stopCtl.signal, memberChannelCredentials(cfg.tls));
  }
}

/**
 * What a node that is in no raft configuration waits for, or null when it is a member (or will
 * become one by itself: --join asks, --bootstrap_expect forms). Without this a node started with
 * neither --raft_bootstrap, --join nor gossip waited forever without a word.
 */
function whatItWaitsFor(cfg: ServeConfig, handle: ServerHandle): string | null {
  const conf = handle.node.stats().raft.conf;
  // --bootstrap_expect: the lowest id bootstraps every expected member as a voter; the others learn
  // the configuration from its first append a moment later, which is no wait worth a warning.
  if (conf.voters.length > 0 || conf.learners.length > 0 || cfg.join !== '' || cfg.bootstrapExpect > 0) return null;
  if (cfg.gossipAddr !== '') {
    return `for the leader to add it: it announced itself over gossip (seeds ${cfg.gossipSeeds.join(',') || 'none'}); the leader's autopilot adds it as a non-voter`;
  }
  return `to be added by a member: run \`raftkv add-voter ${cfg.id} ${handle.raftAddress} --grpc_addr ${handle.grpcAddress}\` against the cluster, `
    + 'or restart with --raft_bootstrap (a new cluster), --join=<member gRPC address>, or --gossip_addr and --gossip_seeds';
}

async function start(cfg: ServeConfig, log: Logger, signal: AbortSignal): Promise<ServerHandle> {
  const knownRaftPeers = cfg.join !== '' ? await fetchRaftPeers(cfg.join, log, signal, memberChannelCredentials(cfg.tls)) : new Map<number, string>();
  return startServer(
    {
      id: cfg.id,
      raftAddr: cfg.raftAddr,
      grpcAddr: cfg.grpcAddr,
      dataDir: cfg.dataDir,
      bootstrap: cfg.bootstrap,
      peers: cfg.peers,
      knownRaftPeers,
      logger: log,
      raft: { tickMs: cfg.tickMs, electionTicks: cfg.electionTicks, snapshotEntries: cfg.snapshotEntries, trailingLogs: cfg.trailingLogs },
      drainGraceMs: cfg.drainGraceMs,
      ...(cfg.metricsAddr !== '' ? { metricsAddr: cfg.metricsAddr } : {}),
      ...(cfg.tls ? { tls: cfg.tls } : {}),
      auth: { token: cfg.authToken, simpleTokenTtlSeconds: cfg.authTokenTtlSeconds },
      ...(cfg.httpAddr !== '' ? { httpAddr: cfg.httpAddr } : {}),
      ...(cfg.gossipAddr !== '' ? { gossip: gossipOptions(cfg) } : {}),
      ...(cfg.autoCompaction ? { autoCompaction: cfg.autoCompaction } : {}),
    },
    signal,
  );
}

function gossipOptions(cfg: ServeConfig): GossipOptions {
  return {
    bindAddr: cfg.gossipAddr,
    seeds: cfg.gossipSeeds,
    ...(cfg.gossipKey ? { key: cfg.gossipKey } : {}),
    ...(cfg.gossipKeyringFile !== '' ? { keyringFile: cfg.gossipKeyringFile } : {}),
    config: GOSSIP_PROFILES[cfg.gossipProfile],
    bootstrapExpect: cfg.bootstrapExpect,
    autopilot: { stabilizationMs: cfg.autopilotStabilizationMs, deadGraceMs: cfg.autopilotDeadGraceMs, votersMax: cfg.autopilotVotersMax, minQuorum: cfg.autopilotMinQuorum },
    ...(cfg.gossipProfile === 'test' ? { reconcileIntervalMs: 100, leaveTimeoutMs: 1_000 } : {}),
  };
}
