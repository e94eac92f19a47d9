import type { Logger } from 'pino';
import type { AuthState } from '../auth/state.js';
import type { JwtTokens } from '../auth/jwt.js';
import type { SimpleTokens } from '../auth/simple-tokens.js';
import type { Command, KeyValue, RangeOp, RangeResult } from '../kv/types.js';
import type { Watcher, WatchOptions } from '../kv/watcher.js';
import type { AddressResolver } from '../resolver/types.js';
import type { ServiceNode } from './node-port.js';


/**
 * The state machine's code, injected by the composition root: the layer rules keep src/kv's code
 * out of src/service, which only names its types.
 */
export interface ServiceKv {
  /** Throws InvalidArgumentError naming the field and the limit. */
  validateCommand(cmd: Command): void;
  encodeCommand(cmd: Command): Uint8Array;
  /**
   * `atRevision` (absent or 0: current) reads the keyspace as of that revision; the store throws its
   * RevisionCompactedError / FutureRevisionError (matched by name in etcd/errors.ts).
   */
  get(key: Uint8Array, atRevision?: number): Promise<{ kv: KeyValue | null; revision: number }>;
  range(op: RangeOp, atRevision?: number): Promise<RangeResult>;
  /** Resolves once this node's store has physically reclaimed the space below a compaction at `revision`. */
  waitCompacted(revision: number, signal?: AbortSignal): Promise<void>;
  watch(opts: WatchOptions): Watcher;
  stats(): { readonly revision: number; readonly keys: number; readonly compactRevision: number };
}

/** The gossip parts the Keyring call uses; absent without --gossip_addr. */
export interface ServiceGossip {
  /** Null when gossip runs unencrypted. */
  readonly keyring: {
    fingerprints(): string[];
    install(keyBase64: string): Promise<void>;
    use(keyBase64: string): Promise<void>;
    remove(keyBase64: string): Promise<void>;
  } | null;
  /** Alive gossip members with their gRPC address (this member included). */
  aliveMembers(): Array<{ readonly id: number; readonly grpcAddr: string }>;
}

/**
 * Leases for etcd's Lease API: the node's lessor (src/node/lessor.ts, injected by the composition
 * root) and the store's lease records. Renewals and TTL queries are answered by the leader only.
 */
export interface ServiceLeases {
  /** TTLs below this are raised to it (etcd's minTTL, from the election timeout). */
  readonly minTtlSeconds: number;
  /** A keep-alive: the lease's TTL, or null if unknown or expired. Throws NotLeaderError off the leader. */
  renew(id: number): number | null;
  /** Throws NotLeaderError off the leader. */
  timeToLive(id: number): { remainingSeconds: number; grantedSeconds: number } | null;
  /** Lease ids, soonest expiry first (on a follower: every lease, in no particular order). */
  list(): number[];
  /** The keys attached to the lease. */
  keys(id: number): Promise<Uint8Array[]>;
}

/** Authentication and authorization (etcd's Auth), injected by the composition root. */
export interface ServiceAuth {
  /** This member's applied auth state (replaced, never changed in place, by each auth change). */
  state(): AuthState;
  /** `--auth_token simple`: the tokens this member learnt by applying Authenticate commands. */
  readonly simple: SimpleTokens | null;
  /** `--auth_token jwt,...`: signs and checks tokens without replicating them. */
  readonly jwt: JwtTokens | null;
  /** --client_cert_auth: a call without a token runs as the CN of its verified client certificate. */
  readonly clientCertAuth: boolean;
  /**
   * Forwarded calls arrive over mutually authenticated TLS with the peer CA (the server refuses a call
   * marked forwarded without such a certificate), so the user they name is the sending member's verified
   * caller. Without peer TLS the receiver ignores that name and authenticates the forwarded token.
   */
  readonly trustForwardedUser: boolean;
  /**
   * With peer TLS: is this verified client certificate a member's (issued by the peer CA)? Members
   * calling raftkv's own Cluster API (joining, forwarding a membership change) need no user.
   */
  readonly isMemberCertificate?: (raw: Buffer) => boolean;
}

/** The node's disks, for etcd's Maintenance Status and Defragment (injected by the composition root). */
export interface ServiceMaintenance {
  /** Bytes of the state machine's store (`dbSizeBytes`) and of what it holds live (`inUseBytes`). */
  diskUsage(): Promise<{ readonly dbSizeBytes: number; readonly inUseBytes: number }>;
  /** Compacts this node's LevelDB stores (state machine and raft log); resolves when done. */
  defragment(signal: AbortSignal): Promise<void>;
}

export interface ServiceOptions {
  /** Upper bound on any unary call's server-side work, also when the caller set no deadline. */
  readonly requestTimeoutMs?: number;
  /** How long a call waits for an election to finish before answering UNAVAILABLE. */
  readonly leaderWaitMs?: number;
  readonly version?: string;
  /** The cluster's name (--cluster_id); etcd's API reports a number derived from it as cluster_id. */
  readonly clusterName?: string;
  /** Where Maintenance.Snapshot builds its file before streaming it (default: the OS temp dir). */
  readonly scratchDir?: string;
}

export interface ServiceDeps {
  readonly node: ServiceNode;
  readonly kv: ServiceKv;
  readonly resolver: AddressResolver;
  readonly gossip?: ServiceGossip;
  readonly logger: Logger;
  readonly options?: ServiceOptions;
  /** etcd's Lease API, and Lock and Election on top of it; absent: those services are not served. */
  readonly leases?: ServiceLeases;
  /** Auth; absent: auth is never enabled and etcd's Auth service is not served. */
  readonly auth?: ServiceAuth;
  /** etcd's Status sizes and Defragment; absent: Status reports the raft log's bytes, Defragment fails. */
  readonly maintenance?: ServiceMaintenance;
  /**
   * Called once per finished call: the method's short name (`Put`), the gRPC status name (`OK`,
   * `UNAVAILABLE`) and the call's duration in seconds (a server stream's whole lifetime). Absent:
   * handlers are not wrapped at all. A callback rather than an import keeps src/metrics out of src/service.
   */
  readonly observe?: ObserveCall;
}

export type ObserveCall = (method: string, code: string, seconds: number) => void;

export const SERVICE_DEFAULTS = {
  requestTimeoutMs: 30_000,
  leaderWaitMs: 3_000,
  version: '0.1.0',
  clusterName: 'raftkv',
} as const;
