/**
 * The keyspace as an etcd backend file (bbolt, bucket "key": 17-byte revision keys → mvccpb.KeyValue;
 * bucket "meta": consistent_index), the form `etcdctl snapshot save` stores and `snapshot status`
 * reads. raftkv keeps the latest version of each key only, so the file holds no history and no
 * tombstones; leases, members and alarms are not in it (raftkv restores from its own snapshots).
 */
import { RaftkvError } from '../../common/errors.js';
import { KeyValue as PbKeyValue } from '../../gen/etcd/mvccpb/kv.js';
import type { KeyValue } from '../../kv/types.js';
import type { ServiceKv } from '../deps.js';
import { writeBoltDb } from './bbolt.js';
import { scanKeyspace } from './keyspace.js';

/** The file is built in memory before it streams; a larger keyspace is refused rather than exhausting the heap. */
export const ETCD_SNAPSHOT_BYTES_MAX = 512 * 1024 * 1024;

export class SnapshotTooLargeError extends RaftkvError {
  override readonly name = 'SnapshotTooLargeError';
  constructor(bytes: number) {
    super('FAILED_PRECONDITION', `the keyspace (${bytes} bytes and more) is larger than the ${ETCD_SNAPSHOT_BYTES_MAX}-byte limit of an etcd-format snapshot`);
  }
}

export interface EtcdSnapshot {
  readonly revision: number;
  /** Whole bbolt pages (4 KiB each), so the size is a multiple of 512 as etcdctl expects. */
  readonly pages: Buffer[];
}

export async function buildEtcdSnapshot(kv: ServiceKv, appliedIndex: () => number, signal: AbortSignal): Promise<EtcdSnapshot> {
  const kvs: KeyValue[] = [];
  let bytes = 0;
  const revision = await scanKeyspace(
    kv,
    signal,
    (page) => {
      for (const e of page) {
        bytes += e.key.length + e.value.length + 64;
        if (bytes > ETCD_SNAPSHOT_BYTES_MAX) throw new SnapshotTooLargeError(bytes);
        kvs.push(e);
      }
    },
  );
  const consistentIndex = appliedIndex();
  // etcd's backend key: main revision, '_', sub revision (the write's position inside its txn).
  kvs.sort((a, b) => a.modRevision - b.modRevision || Buffer.compare(a.key, b.key));
  const keyBucket: Array<readonly [Uint8Array, Uint8Array]> = [];
  let sub = 0;
  kvs.forEach((e, i) => {
    sub = i > 0 && kvs[i - 1]!.modRevision === e.modRevision ? sub + 1 : 0;
    const k = Buffer.alloc(17);
    k.writeBigUInt64BE(BigInt(e.modRevision), 0);
    k[8] = 0x5f; // '_'
    k.writeBigUInt64BE(BigInt(sub), 9);
    const pb = PbKeyValue.encode({ key: Buffer.from(e.key), value: Buffer.from(e.value), createRevision: e.createRevision, modRevision: e.modRevision, version: e.version, lease: e.lease ?? 0 }).finish();
    keyBucket.push([k, pb]);
  });
  const ci = Buffer.alloc(8);
  ci.writeBigUInt64BE(BigInt(consistentIndex));
  const pages = writeBoltDb([
    { name: 'key', entries: keyBucket },
    { name: 'meta', entries: [[Buffer.from('consistent_index'), ci]] },
  ]);
  return { revision, pages };
}
