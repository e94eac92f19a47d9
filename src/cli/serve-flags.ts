import { parsePeers, checkHostPort } from '../node/server.js';
import { GOSSIP_PROFILES, type GossipProfile } from '../node/gossip-setup.js';
import type { FlagSpec, FlagValues } from './flags.js';
import { UsageError } from './flags.js';
import { TLS_FLAGS, tlsConfig } from './tls-flags.js';
import { AUTO_COMPACTION_FLAGS, autoCompactionConfig } from './compaction-flags.js';
import type { AutoCompactionOptions } from '../node/auto-compactor.js';
import type { NodeTlsOptions } from '../node/tls-setup.js';
import { SIMPLE_TOKEN_TTL_S_DEFAULT, parseTokenConfig, type TokenConfig } from '../auth/token-config.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const hostPort = (v: string | number | boolean): string | null => {
  try {
    checkHostPort(String(v), 'address');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};
const positive = (v: string | number | boolean): string | null => (typeof v === 'number' && v > 0 ? null : 'must be a positive integer');
const nonNegative = (v: string | number | boolean): string | null => (Number(v) >= 0 ? null : 'want a non-negative integer');

/** `a:1,b:2` -> ['a:1', 'b:2'] (empty string: none); throws with one line on a bad address. */
export function parseSeeds(text: string): string[] {
  const seeds = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const seed of seeds) checkHostPort(seed, 'gossip seed');
  return seeds;
}

/** Base64 of exactly 32 bytes (AES-256); '' means no encryption. */
export function parseGossipKey(text: string): Uint8Array | null {
  if (text === '') return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 32 || bytes.toString('base64') !== text) throw new UsageError('invalid --gossip_key: want base64 of exactly 32 bytes (e.g. openssl rand -base64 32)');
  return new Uint8Array(bytes);
}

const problem = (f: () => unknown) => (): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^invalid --gossip_key: /, '');
  }
};

export const SERVE_FLAGS: readonly FlagSpec[] = [
  { name: 'raft_id', kind: 'int', required: true, help: 'this node\'s raft id, a positive integer unique in the cluster', check: positive },
  { name: 'raft_addr', kind: 'string', required: true, help: 'host:port for raft traffic between nodes (port 0 picks a free one)', check: hostPort },
  { name: 'grpc_addr', kind: 'string', required: true, help: 'host:port of the client gRPC API (port 0 picks a free one)', check: hostPort },
  { name: 'raft_data_dir', kind: 'string', required: true, help: 'data directory; this node\'s files live in <dir>/<raft_id>/' },
  { name: 'raft_bootstrap', kind: 'bool', default: false, help: 'bootstrap a new single-node cluster if the data directory is empty (ignored on restart)' },
  {
    name: 'peers', kind: 'string', default: '', help: 'gRPC addresses of other members, id=host:port,... (used to forward to the leader)',
    check: (v) => {
      try {
        parsePeers(String(v));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
  { name: 'join', kind: 'string', default: '', help: 'gRPC address of any member: once up, ask the cluster to add this node as a voter (retried until it succeeds)', check: (v) => (v === '' ? null : hostPort(v)) },
  { name: 'gossip_addr', kind: 'string', default: '', help: 'host:port for gossip (UDP + TCP); enables discovery and automatic membership', check: (v) => (v === '' ? null : hostPort(v)) },
  { name: 'gossip_seeds', kind: 'string', default: '', help: 'gossip addresses of some members, host:port,... (may include this node\'s own); needs --gossip_addr', check: (v) => problem(() => parseSeeds(String(v)))() },
  { name: 'bootstrap_expect', kind: 'int', default: 0, help: 'form a new cluster once this many fresh nodes see each other in gossip (same value on each; ignored once the node has data)', check: nonNegative },
  { name: 'gossip_keyring_file', kind: 'string', default: '', help: 'the gossip keyring across restarts (JSON array of base64 keys, primary first; default <raft_data_dir>/<raft_id>/gossip-keyring.json); once it exists it wins over --gossip_key; change it with `raftkv keyring`' },
  { name: 'gossip_key', kind: 'string', default: '', help: 'base64 32-byte key: encrypt gossip with AES-256-GCM (the same key on every node)', check: (v) => problem(() => parseGossipKey(String(v)))() },
  { name: 'metrics_addr', kind: 'string', default: '', help: 'host:port to serve Prometheus metrics on (GET /metrics); empty: off', check: (v) => (v === '' ? null : hostPort(v)) },
  ...TLS_FLAGS,
  {
    name: 'auth_token', kind: 'string', default: 'simple', help: 'auth tokens: simple, or jwt,priv-key=<pem>,pub-key=<pem>,sign-method=RS256|ES256|PS256|HS256|...,ttl=5m (as etcd\'s --auth-token)',
    check: (v) => problem(() => parseTokenConfig(String(v)))(),
  },
  { name: 'auth_token_ttl', kind: 'int', default: SIMPLE_TOKEN_TTL_S_DEFAULT, help: 'seconds a simple auth token lives after its last use', check: positive },
  ...AUTO_COMPACTION_FLAGS,
  { name: 'http_addr', kind: 'string', default: '', help: 'host:port for the live cluster page (open http://<addr>/ in a browser); may equal --metrics_addr; empty: off', check: (v) => (v === '' ? null : hostPort(v)) },
  { name: 'log_level', kind: 'string', default: 'info', help: `log level: ${LOG_LEVELS.join(', ')} (logs go to stderr as JSON)`, check: (v) => (LOG_LEVELS.includes(String(v)) ? null : `want one of ${LOG_LEVELS.join(', ')}`) },
  { name: 'tick_ms', kind: 'int', default: 100, advanced: true, help: 'raft tick length in ms; elections take about election_ticks..2*election_ticks ticks', check: positive },
  { name: 'election_ticks', kind: 'int', default: 10, advanced: true, help: 'raft election timeout in ticks', check: positive },
  { name: 'snapshot_entries', kind: 'int', default: 8192, advanced: true, help: 'take a snapshot after this many applied entries', check: positive },
  { name: 'trailing_logs', kind: 'int', default: 10240, advanced: true, help: 'log entries kept after a snapshot so slow followers catch up without one', check: (v) => (Number(v) >= 0 ? null : 'want a non-negative integer') },
  { name: 'gossip_profile', kind: 'string', default: 'lan', advanced: true, help: `gossip timing: ${Object.keys(GOSSIP_PROFILES).join(', ')} (test: fast failure detection on loopback)`, check: (v) => (String(v) in GOSSIP_PROFILES ? null : `want one of ${Object.keys(GOSSIP_PROFILES).join(', ')}`) },
  { name: 'autopilot_stabilization_ms', kind: 'int', default: 10000, advanced: true, help: 'a new non-voter must stay caught up and healthy this long before promotion', check: nonNegative },
  { name: 'autopilot_dead_grace_ms', kind: 'int', default: 10000, advanced: true, help: 'a member gossip declares dead is removed from raft after this long (if quorum stays safe)', check: nonNegative },
  { name: 'autopilot_min_quorum', kind: 'int', default: 0, advanced: true, help: 'never remove a voter automatically when fewer voters would remain (0: the --bootstrap_expect count, else 3)', check: nonNegative },
  { name: 'autopilot_voters_max', kind: 'int', default: 5, advanced: true, help: 'voters are kept odd and at most this many; further members stay non-voters', check: positive },
  { name: 'drain_grace_ms', kind: 'int', default: 5000, advanced: true, help: 'on shutdown, time in-flight gRPC calls get to finish', check: positive },
];

export interface ServeConfig {
  readonly id: number;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  readonly dataDir: string;
  readonly bootstrap: boolean;
  readonly peers: Map<number, string>;
  readonly join: string;
  readonly logLevel: string;
  /** '' when off. */
  readonly metricsAddr: string;
  /** '' when off. */
  readonly httpAddr: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries: number;
  readonly trailingLogs: number;
  readonly drainGraceMs: number;
  readonly gossipAddr: string;
  readonly gossipSeeds: string[];
  readonly bootstrapExpect: number;
  readonly gossipKey: Uint8Array | null;
  readonly gossipKeyringFile: string;
  readonly gossipProfile: GossipProfile;
  readonly autopilotStabilizationMs: number;
  readonly autopilotDeadGraceMs: number;
  readonly autopilotVotersMax: number;
  readonly autopilotMinQuorum: number;
  /** null: plaintext on every port. */
  readonly tls: NodeTlsOptions | null;
  readonly authToken: TokenConfig;
  readonly authTokenTtlSeconds: number;
  /** null: no auto-compaction (retention 0). */
  readonly autoCompaction: AutoCompactionOptions | null;
}

export function serveConfig(f: FlagValues): ServeConfig {
  const str = (n: string): string => String(f.get(n) ?? '');
  const num = (n: string): number => Number(f.get(n));
  const cfg: ServeConfig = {
    id: num('raft_id'),
    raftAddr: str('raft_addr'),
    grpcAddr: str('grpc_addr'),
    dataDir: str('raft_data_dir'),
    bootstrap: f.get('raft_bootstrap') === true,
    peers: parsePeers(str('peers')),
    join: str('join'),
    logLevel: str('log_level'),
    metricsAddr: str('metrics_addr'),
    httpAddr: str('http_addr'),
    tickMs: num('tick_ms'),
    electionTicks: num('election_ticks'),
    snapshotEntries: num('snapshot_entries'),
    trailingLogs: num('trailing_logs'),
    drainGraceMs: num('drain_grace_ms'),
    gossipAddr: str('gossip_addr'),
    gossipSeeds: parseSeeds(str('gossip_seeds')),
    bootstrapExpect: num('bootstrap_expect'),
    gossipKey: parseGossipKey(str('gossip_key')),
    gossipKeyringFile: str('gossip_keyring_file'),
    gossipProfile: str('gossip_profile') as GossipProfile,
    autopilotStabilizationMs: num('autopilot_stabilization_ms'),
    autopilotDeadGraceMs: num('autopilot_dead_grace_ms'),
    autopilotVotersMax: num('autopilot_voters_max'),
    autopilotMinQuorum: num('autopilot_min_quorum') || num('bootstrap_expect') || 3,
    tls: tlsConfig(f),
    authToken: parseTokenConfig(str('auth_token')),
    authTokenTtlSeconds: num('auth_token_ttl'),
    autoCompaction: autoCompactionConfig(f),
  };
  if (cfg.dataDir === '') throw new UsageError('invalid --raft_data_dir: empty');
  if (cfg.bootstrap && cfg.join !== '') throw new UsageError('--raft_bootstrap and --join exclude each other: bootstrap the first node, join the others');
  if (cfg.gossipAddr === '') {
    if (cfg.gossipSeeds.length > 0) throw new UsageError('--gossip_seeds needs --gossip_addr (this node\'s own gossip address)');
    if (cfg.bootstrapExpect > 0) throw new UsageError('--bootstrap_expect needs --gossip_addr and --gossip_seeds');
    if (cfg.gossipKey !== null) throw new UsageError('--gossip_key needs --gossip_addr');
    if (cfg.gossipKeyringFile !== '') throw new UsageError('--gossip_keyring_file needs --gossip_addr');
  }
  if (cfg.bootstrap && cfg.bootstrapExpect > 0) throw new UsageError('--raft_bootstrap and --bootstrap_expect exclude each other: pick one way to form the cluster');
  return cfg;
}
