import { parsePeers, checkHostPort } from '../node/server.js';
import type { FlagSpec, FlagValues } from './flags.js';
import { UsageError } from './flags.js';

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
  { name: 'log_level', kind: 'string', default: 'info', help: `log level: ${LOG_LEVELS.join(', ')} (logs go to stderr as JSON)`, check: (v) => (LOG_LEVELS.includes(String(v)) ? null : `want one of ${LOG_LEVELS.join(', ')}`) },
  { name: 'tick_ms', kind: 'int', default: 100, advanced: true, help: 'raft tick length in ms; elections take about election_ticks..2*election_ticks ticks', check: positive },
  { name: 'election_ticks', kind: 'int', default: 10, advanced: true, help: 'raft election timeout in ticks', check: positive },
  { name: 'snapshot_entries', kind: 'int', default: 8192, advanced: true, help: 'take a snapshot after this many applied entries', check: positive },
  { name: 'trailing_logs', kind: 'int', default: 10240, advanced: true, help: 'log entries kept after a snapshot so slow followers catch up without one', check: (v) => (Number(v) >= 0 ? null : 'want a non-negative integer') },
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
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly snapshotEntries: number;
  readonly trailingLogs: number;
  readonly drainGraceMs: number;
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
    tickMs: num('tick_ms'),
    electionTicks: num('election_ticks'),
    snapshotEntries: num('snapshot_entries'),
    trailingLogs: num('trailing_logs'),
    drainGraceMs: num('drain_grace_ms'),
  };
  if (cfg.dataDir === '') throw new UsageError('invalid --raft_data_dir: empty');
  if (cfg.bootstrap && cfg.join !== '') throw new UsageError('--raft_bootstrap and --join exclude each other: bootstrap the first node, join the others');
  return cfg;
}
