/**
 * raftkv's own administration API (raftkv.v1.Cluster) for the benchmarks: the raft snapshot a
 * member takes on request (`raftkv snapshot`), which has no etcd counterpart a client can trigger.
 */
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO_ROOT = join(import.meta.dirname, '../../proto');

type Unary = (req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;
type ClusterCtor = new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, Unary>;

export interface RaftSnapshot {
  readonly index: number;
  readonly sizeBytes: number;
}

/** Asks the member at `endpoint` to snapshot its state machine now and compact its log. */
export async function raftkvSnapshot(endpoint: string, timeoutMs: number): Promise<RaftSnapshot> {
  const def = loadSync('raftkv/v1/cluster.proto', { includeDirs: [PROTO_ROOT], longs: String, defaults: true, keepCase: false });
  const Cluster = (loadPackageDefinition(def)['raftkv'] as unknown as { v1: { Cluster: ClusterCtor } }).v1.Cluster;
  const client = new Cluster(endpoint, credentials.createInsecure());
  try {
    const res = await new Promise<{ index: string; sizeBytes: string }>((resolve, reject) => {
      client['Snapshot']!({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, r) => (err ? reject(err) : resolve(r as { index: string; sizeBytes: string })));
    });
    return { index: Number(res.index), sizeBytes: Number(res.sizeBytes) };
  } finally {
    client.close();
  }
}
