import { Metadata, type ChannelCredentials, type CallOptions as GrpcCallOptions, type ClientOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { KVClient, LeaseClient, WatchClient } from '../gen/etcd/etcdserverpb/rpc.js';
import { ElectionClient } from '../gen/etcd/v3electionpb/v3election.js';
import { LockClient } from '../gen/etcd/v3lockpb/v3lock.js';
import { ClusterClient } from '../gen/raftkv/v1/cluster.js';
import { InvalidArgumentError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { ClientAbortedError } from './errors.js';
import type { Attempt } from './retry.js';
import { channelCredentials, type ClientTls } from './tls.js';

/** Channel options: fail over fast when a node is down instead of waiting for it to come back. */
const CHANNEL_OPTIONS: Partial<ClientOptions> = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  // The server sends pages up to 8 MiB; leave room for headers.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.max_send_message_length': 2 * Limits.requestBytesMax,
  'grpc.keepalive_time_ms': 30_000,
};

/**
 * One endpoint's stubs: etcd's v3 services for data (KV, Watch, Lease, Lock, Election), and raftkv.v1's
 * Cluster for administration etcd's API has no call for (voters, transfers, snapshots, keyring).
 */
export interface Stubs {
  readonly kv: KVClient;
  readonly watch: WatchClient;
  readonly lease: LeaseClient;
  readonly lock: LockClient;
  readonly election: ElectionClient;
  readonly cluster: ClusterClient;
}

/** host:port, with a port in 1..65535. */
export function validateEndpoint(ep: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(ep);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65535) throw new InvalidArgumentError(`bad endpoint ${JSON.stringify(ep)}: expected host:port`);
  return ep;
}

/**
 * The endpoints the client may talk to, with one lazily created pair of stubs each. Any node serves any
 * request (it forwards to the leader), so failover is simply moving on to the next endpoint.
 */
export class Endpoints {
  private readonly stubs: Array<Stubs | null>;
  private current = 0;

  private readonly creds: ChannelCredentials;

  constructor(readonly addresses: readonly string[], tls?: ClientTls) {
    this.creds = channelCredentials(tls);
    if (addresses.length === 0) throw new InvalidArgumentError('at least one endpoint is required');
    for (const a of addresses) validateEndpoint(a);
    this.stubs = addresses.map(() => null);
  }

  /** The stubs of the current endpoint, and its index (for rotateFrom). */
  get(): Stubs & { readonly index: number } {
    const i = this.current;
    let s = this.stubs[i] ?? null;
    if (s === null) {
      const address = this.addresses[i] as string;
      const kv = new KVClient(address, this.creds, CHANNEL_OPTIONS);
      // The other stubs share the kv stub's channel: one connection per endpoint.
      const shared = { channelOverride: kv.getChannel() };
      s = {
        kv,
        watch: new WatchClient(address, this.creds, shared),
        lease: new LeaseClient(address, this.creds, shared),
        lock: new LockClient(address, this.creds, shared),
        election: new ElectionClient(address, this.creds, shared),
        cluster: new ClusterClient(address, this.creds, shared),
      };
      this.stubs[i] = s;
    }
    return { ...s, index: i };
  }

  get currentAddress(): string {
    return this.addresses[this.current] as string;
  }

  /**
   * Moves on from endpoint `failed` after a retryable failure there. Many concurrent calls may fail
   * on the same endpoint; only the first moves the cursor, so they do not spin it around.
   */
  rotateFrom(failed: number): void {
    if (failed === this.current) this.current = (this.current + 1) % this.addresses.length;
  }

  close(): void {
    for (const s of this.stubs) s?.kv.close();
    this.stubs.fill(null);
  }
}

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** One unary call with the attempt's deadline; the caller's abort cancels it. */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, a: Attempt, metadata: Metadata = new Metadata()): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (a.signal?.aborted === true) {
      reject(new ClientAbortedError(a.signal.reason));
      return;
    }
    const onAbort = (): void => call.cancel();
    const call = method(request, metadata, { deadline: a.deadline }, (err, res) => {
      a.signal?.removeEventListener('abort', onAbort);
      if (err !== null) reject(err);
      else resolve(res);
    });
    a.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
