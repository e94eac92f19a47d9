/**
 * The benchmark's client: etcd's v3 KV and Maintenance services over grpc-js, one channel per
 * member shared by every worker. The same code drives etcd and raftkv. The protos are loaded with
 * proto-loader and 64-bit integers kept as strings: etcd's member ids use all 64 bits.
 */
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': 8 * 1024 * 1024 };
const PROTO_ROOT = join(import.meta.dirname, '../../proto');

export interface StatusResponse {
  readonly header?: { readonly memberId: string };
  readonly leader: string;
}

type Unary = (req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;
type ClientCtor = new (addr: string, creds: ReturnType<typeof credentials.createInsecure>, opts: object) => Client & Record<string, Unary>;

function loadClients(): { KV: ClientCtor; Maintenance: ClientCtor } {
  const def = loadSync('etcd/etcdserverpb/rpc.proto', { includeDirs: [PROTO_ROOT], longs: String, defaults: true, keepCase: false });
  const pkg = loadPackageDefinition(def)['etcdserverpb'] as unknown as { KV: ClientCtor; Maintenance: ClientCtor };
  return { KV: pkg.KV, Maintenance: pkg.Maintenance };
}

let clients: ReturnType<typeof loadClients> | null = null;

function unary<T>(start: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, res) => (err ? reject(err) : resolve(res)));
  });
}

export class EtcdApi {
  private readonly kv: Client & Record<string, Unary>;
  private readonly maintenance: Client & Record<string, Unary>;

  constructor(readonly endpoint: string) {
    clients ??= loadClients();
    this.kv = new clients.KV(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS);
    this.maintenance = new clients.Maintenance(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS);
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

  status(timeoutMs: number): Promise<StatusResponse> {
    return unary<StatusResponse>((cb) => this.maintenance['Status']!({}, new Metadata(), { deadline: Date.now() + timeoutMs }, cb as (err: ServiceError | null, res: unknown) => void));
  }

  close(): void {
    this.kv.close();
    this.maintenance.close();
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
