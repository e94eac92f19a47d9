/**
 * The benchmark's client: etcd's v3 KV, Maintenance and Cluster services over grpc-js, one channel
 * per member shared by every worker (watch streams: etcd-watch.ts). The same code drives etcd and raftkv. The protos are loaded with
 * proto-loader and 64-bit integers kept as strings: etcd's member ids use all 64 bits.
 */
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': 8 * 1024 * 1024 };
/**
 * For a client polling a member that is down or starting: its own connection (not shared with
 * other clients of that address) retried every 50–100 ms rather than after grpc-js's backoff of a
 * second and more, which would otherwise be counted in a restart or catch-up time.
 */
export const FAST_RECONNECT = { 'grpc.use_local_subchannel_pool': 1, 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 100 };
const PROTO_ROOT = join(import.meta.dirname, '../../proto');

export interface StatusResponse {
  readonly header?: { readonly memberId: string };
  readonly leader: string;
}

/** One member as MemberAdd lists it (ids are uint64 kept as decimal strings). */
export interface MemberInfo {
  readonly ID: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
}

interface ResponseHeader {
  readonly revision: string;
}

type Unary = (req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;
type ClientCtor = new (addr: string, creds: ReturnType<typeof credentials.createInsecure>, opts: object) => Client & Record<string, Unary>;

export interface EtcdClients {
  readonly KV: ClientCtor;
  readonly Maintenance: ClientCtor;
  readonly Cluster: ClientCtor;
}

function loadClients(): EtcdClients {
  const def = loadSync('etcd/etcdserverpb/rpc.proto', { includeDirs: [PROTO_ROOT], longs: String, defaults: true, keepCase: false });
  return loadPackageDefinition(def)['etcdserverpb'] as unknown as EtcdClients;
}

let clients: EtcdClients | null = null;

/** The service constructors, loaded once per process. */
export function etcdClients(): EtcdClients {
  clients ??= loadClients();
  return clients;
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res)));
  });
}

export class EtcdApi {
  private readonly kv: Client & Record<string, Unary>;
  private readonly maintenance: Client & Record<string, Unary>;
  private readonly cluster: Client & Record<string, Unary>;

  /** `channelOptions` add to (or override) the defaults, e.g. FAST_RECONNECT. */
  constructor(readonly endpoint: string, channelOptions: object = {}) {
    const c = etcdClients();
    const opts = { ...CHANNEL_OPTIONS, ...channelOptions };
    this.kv = new c.KV(endpoint, credentials.createInsecure(), opts);
    this.maintenance = new c.Maintenance(endpoint, credentials.createInsecure(), opts);
    this.cluster = new c.Cluster(endpoint, credentials.createInsecure(), opts);
  }

  put(key: Buffer, value: Buffer, timeoutMs: number): Promise<unknown> {
    const req = { key, value, lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false };
    return unary((cb) => this.kv['Put']!(req, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
  }

  get(key: Buffer, serializable: boolean, timeoutMs: number): Promise<unknown> {
    // Fields left at their defaults are left out: proto-loader sends an empty range_end as "\0" ("every key >= key").
    const req = { key, serializable };
    return unary((cb) => this.kv['Range']!(req, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
  }

  /** One Txn putting every pair (no compares), as a bulk load does. */
  txnPuts(pairs: readonly { key: Buffer; value: Buffer }[], timeoutMs: number): Promise<unknown> {
    const req = { compare: [], success: pairs.map((p) => ({ requestPut: { key: p.key, value: p.value } })), failure: [] };
    return unary((cb) => this.kv['Txn']!(req, new Metadata(), { deadline: Date.now() + timeoutMs }, cb));
  }

  /** How many keys start with `prefix`, and the revision the answering member read at. */
  async countPrefix(prefix: Buffer, serializable: boolean, timeoutMs: number): Promise<{ count: number; revision: number }> {
    const req = { key: prefix, rangeEnd: prefixEnd(prefix), serializable, countOnly: true };
    const res = await unary<{ count: string; header?: ResponseHeader }>((cb) => this.kv['Range']!(req, new Metadata(), { deadline: Date.now() + timeoutMs }, cb as (err: ServiceError | null, res: unknown) => void));
    return { count: Number(res.count), revision: Number(res.header?.revision ?? 0) };
  }

  /** Maintenance.Snapshot: streams the whole snapshot and counts its bytes (the data is dropped). */
  snapshotBytes(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const call = (this.maintenance['Snapshot'] as unknown as (req: unknown, md: Metadata, opts: { deadline: number }) => NodeJS.EventEmitter)({}, new Metadata(), { deadline: Date.now() + timeoutMs });
      let bytes = 0;
      call.on('data', (r: { blob: Buffer }) => { bytes += r.blob.length; });
      call.on('error', reject);
      call.on('end', () => resolve(bytes));
    });
  }

  /** Cluster.MemberAdd: the new member's id and the member list including it. */
  async memberAdd(peerUrl: string, isLearner: boolean, timeoutMs: number): Promise<{ id: string; members: MemberInfo[] }> {
    const res = await unary<{ member: MemberInfo; members: MemberInfo[] }>((cb) => this.cluster['MemberAdd']!({ peerURLs: [peerUrl], isLearner }, new Metadata(), { deadline: Date.now() + timeoutMs }, cb as (err: ServiceError | null, res: unknown) => void));
    return { id: res.member.ID, members: res.members };
  }

  status(timeoutMs: number): Promise<StatusResponse> {
    return unary<StatusResponse>((cb) => this.maintenance['Status']!({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb as (err: ServiceError | null, res: unknown) => void));
  }

  close(): void {
    this.kv.close();
    this.maintenance.close();
    this.cluster.close();
  }
}

/** Every member answers Status and all name the same leader; returns the leader's index in `apis`. */
export async function leaderIndex(apis: readonly EtcdApi[], timeoutMs: number): Promise<number> {
  const statuses = await Promise.all(apis.map((a) => a.status(timeoutMs)));
  const leader = statuses[0]!.leader;
  if (leader === '0' || statuses.some((s) => s.leader !== leader)) throw new Error('members do not agree on a leader yet');
  const i = statuses.findIndex((s) => s.header?.memberId === leader);
  if (i < 0) throw new Error(`the leader ${leader} is not among the members asked`);
  return i;
}
