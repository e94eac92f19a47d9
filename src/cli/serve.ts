import { pino, type Logger } from 'pino';
import { GOSSIP_PROFILES } from '../node/gossip-setup.js';
import { startServer, type GossipOptions, type ServerHandle } from '../node/server.js';
import { parseFlags, usage } from './flags.js';
import { fetchRaftPeers, joinCluster } from './join.js';
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
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting now');
      exit(EXIT.forced);
    }
    log.info({ signal: sig }, 'stopping gracefully (send the signal again to force)');
    stopCtl.abort();
    void (handle?.stop() ?? Promise.resolve()).then(
      () => exit(EXIT.ok),
      (err: unknown) => {
        log.error({ err }, 'graceful stop failed');
        exit(EXIT.failed);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
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
  process.stdout.write(`${JSON.stringify({ event: 'ready', id: cfg.id, raftAddr: handle.raftAddress, grpcAddr: handle.grpcAddress, ...(gossipAddr ? { gossipAddr } : {}), ...(metricsAddr ? { metricsAddr } : {}), ...(httpAddr ? { httpAddr } : {}) })}\n`);
  if (cfg.join !== '') {
    await joinCluster({ via: cfg.join, id: cfg.id, raftAddress: handle.raftAddress, grpcAddress: handle.grpcAddress }, log, stopCtl.signal);
  }
}

async function start(cfg: ServeConfig, log: Logger, signal: AbortSignal): Promise<ServerHandle> {
  const knownRaftPeers = cfg.join !== '' ? await fetchRaftPeers(cfg.join, log, signal) : new Map<number, string>();
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
      ...(cfg.httpAddr !== '' ? { httpAddr: cfg.httpAddr } : {}),
      ...(cfg.gossipAddr !== '' ? { gossip: gossipOptions(cfg) } : {}),
    },
    signal,
  );
}

function gossipOptions(cfg: ServeConfig): GossipOptions {
  return {
    bindAddr: cfg.gossipAddr,
    seeds: cfg.gossipSeeds,
    ...(cfg.gossipKey ? { key: cfg.gossipKey } : {}),
    config: GOSSIP_PROFILES[cfg.gossipProfile],
    bootstrapExpect: cfg.bootstrapExpect,
    autopilot: { stabilizationMs: cfg.autopilotStabilizationMs, deadGraceMs: cfg.autopilotDeadGraceMs, votersMax: cfg.autopilotVotersMax, minQuorum: cfg.autopilotMinQuorum },
    ...(cfg.gossipProfile === 'test' ? { reconcileIntervalMs: 100, leaveTimeoutMs: 1_000 } : {}),
  };
}
