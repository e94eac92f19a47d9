/**
 * The etcd API clients the lease and lock workloads use, one set per node, and the calls they make
 * with a deadline each. A keep-alive opens a short stream per beat (one request, one answer), so a
 * beat never waits on a stream that a fault left half-open.
 */
import { credentials as grpcCredentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { KVClient, LeaseClient } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { LockClient } from '../../src/gen/etcd/v3lockpb/v3lock.js';
import { unary } from './cluster.js';

export interface EtcdNodeClients {
  readonly kv: KVClient;
  readonly lease: LeaseClient;
  readonly lock: LockClient;
}

export class EtcdClients {
  private readonly byNode = new Map<number, EtcdNodeClients>();
  readonly ids: number[];

  constructor(grpcAddrs: ReadonlyMap<number, string>, creds?: ChannelCredentials) {
    const c = creds ?? grpcCredentials.createInsecure();
    for (const [id, addr] of grpcAddrs) this.byNode.set(id, { kv: new KVClient(addr, c), lease: new LeaseClient(addr, c), lock: new LockClient(addr, c) });
    this.ids = [...grpcAddrs.keys()];
  }

  node(id: number): EtcdNodeClients {
    const n = this.byNode.get(id);
    if (n === undefined) throw new Error(`no clients for node ${id}`);
    return n;
  }

  close(): void {
    for (const n of this.byNode.values()) {
      n.kv.close();
      n.lease.close();
      n.lock.close();
    }
  }
}

export const callOptions = (timeoutMs: number): { deadline: number } => ({ deadline: Date.now() + timeoutMs });

/** Grants a lease; resolves with its id and granted TTL (seconds). */
export async function grant(c: EtcdNodeClients, ttlSeconds: number, timeoutMs: number): Promise<{ id: number; ttlSeconds: number }> {
  const res = await unary<{ ID: number; TTL: number; error: string }>((cb) => c.lease.leaseGrant({ TTL: ttlSeconds, ID: 0 }, new Metadata(), callOptions(timeoutMs), cb));
  if (res.error !== '') throw new Error(`lease grant: ${res.error}`);
  return { id: res.ID, ttlSeconds: res.TTL };
}

/** One keep-alive beat; resolves with the TTL the leader answered (0: the lease is gone). */
export function keepAliveOnce(c: EtcdNodeClients, id: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = c.lease.leaseKeepAlive(new Metadata(), callOptions(timeoutMs));
    let settled = false;
    stream.on('data', (res: { ID: number; TTL: number }) => {
      if (settled) return;
      settled = true;
      resolve(res.TTL);
      stream.cancel();
    });
    stream.on('error', (e: ServiceError) => {
      if (!settled) reject(e);
      settled = true;
    });
    stream.on('end', () => {
      if (!settled) reject(new Error('keep-alive stream ended without an answer'));
      settled = true;
    });
    stream.write({ ID: id });
  });
}

export async function revoke(c: EtcdNodeClients, id: number, timeoutMs: number): Promise<void> {
  await unary((cb) => c.lease.leaseRevoke({ ID: id }, new Metadata(), callOptions(timeoutMs), cb));
}

/** A linearizable read of one key: is it there? */
export async function exists(c: EtcdNodeClients, key: string, timeoutMs: number): Promise<boolean> {
  const res = await unary<{ count: number }>((cb) =>
    c.kv.range(
      { key: Buffer.from(key), rangeEnd: Buffer.alloc(0), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: true, countOnly: true,
        minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 },
      new Metadata(), callOptions(timeoutMs), cb,
    ),
  );
  return res.count > 0;
}

export async function putWithLease(c: EtcdNodeClients, key: string, value: string, lease: number, timeoutMs: number): Promise<void> {
  await unary((cb) => c.kv.put({ key: Buffer.from(key), value: Buffer.from(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false }, new Metadata(), callOptions(timeoutMs), cb));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
