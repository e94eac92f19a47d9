import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { RaftkvError } from '../../common/errors.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  MaintenanceService,
  type AlarmRequest,
  type AlarmResponse,
  type DefragmentRequest,
  type DefragmentResponse,
  type HashKVRequest,
  type HashKVResponse,
  type HashRequest,
  type HashResponse,
  type MaintenanceServer,
  type MoveLeaderRequest,
  type MoveLeaderResponse,
  type SnapshotRequest,
  type SnapshotResponse,
  type StatusRequest,
  type StatusResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import { callScope } from '../call-signal.js';
import { unary, type HandlerContext } from '../kv-service.js';
import { checkMalformed } from '../malformed.js';
import { ETCD_API_VERSION } from './cluster.js';
import { EtcdError, EtcdErrors, toEtcdStatus } from './errors.js';
import { writeEtcdSnapshot, type EtcdSnapshotFile } from './etcd-snapshot.js';
import type { HeaderOf } from './header.js';
import { hashKeyspace } from './keyspace.js';

/** etcd's snapshotSendBufferSize: the Snapshot stream's chunk. */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/** A Snapshot stream may take this long in all (etcd's has no limit; a stuck reader must not pin the file forever). */
export const SNAPSHOT_STREAM_TIMEOUT_MS = 10 * 60_000;

/** etcd's Maintenance service: Status, Alarm, Hash, HashKV, Defragment, MoveLeader, Snapshot. */
/** Downgrade (etcd 3.5) is not served: grpc-js answers UNIMPLEMENTED. */
export function createEtcdMaintenanceServer(ctx: HandlerContext, header: HeaderOf): Omit<MaintenanceServer, 'downgrade'> {
  const { node, kv } = ctx.deps;
  const rev = (): number => kv.stats().revision;
  return {
    status: unary<StatusRequest, StatusResponse>(
      ctx,
      async () => {
        const s = node.stats();
        const disk = await ctx.deps.maintenance?.diskUsage();
        return {
          header: header(rev()),
          version: ETCD_API_VERSION,
          dbSize: disk?.dbSizeBytes ?? s.logBytes,
          dbSizeInUse: disk?.inUseBytes ?? s.logBytes,
          leader: s.raft.lead,
          raftIndex: s.raft.commit,
          raftTerm: s.raft.term,
          raftAppliedIndex: s.appliedIndex,
          errors: s.raft.lead === 0 ? [EtcdErrors.noLeader[1]] : [],
          isLearner: s.raft.conf.learners.includes(node.id),
        };
      },
      toEtcdStatus,
    ),
    alarm: unary<AlarmRequest, AlarmResponse>(
      ctx,
      async (req) => {
        if (!Object.values(AlarmType).includes(req.alarm) || req.alarm === AlarmType.UNRECOGNIZED) throw new EtcdError('alarmAction');
        // No alarm is ever active here: GET lists none, DEACTIVATE has nothing to clear.
        if (req.action === AlarmRequest_AlarmAction.Get || req.action === AlarmRequest_AlarmAction.Deactivate) return { header: header(rev()), alarms: [] };
        if (req.action === AlarmRequest_AlarmAction.Activate) throw new EtcdError('alarmActivate');
        throw new EtcdError('alarmAction');
      },
      toEtcdStatus,
    ),
    hash: unary<HashRequest, HashResponse>(
      ctx,
      async (_req, scope) => {
        const { hash, revision } = await hashKeyspace(kv, scope.signal);
        // The whole backend in etcd; here the keyspace plus the lease ids (leases are replicated state too).
        const leases = Buffer.from(JSON.stringify([...(ctx.deps.leases?.list() ?? [])].sort((a, b) => a - b)));
        return { header: header(revision), hash: crc32(leases, hash) };
      },
      toEtcdStatus,
    ),
    hashKv: unary<HashKVRequest, HashKVResponse>(
      ctx,
      async (req, scope) => {
        const want = req.revision;
        if (!Number.isSafeInteger(want) || want < 0) throw new EtcdError('futureRev');
        if (want > rev()) throw new EtcdError('futureRev');
        // A revision at or below the compacted one fails in the store's read with etcd's "compacted".
        const { hash } = await hashKeyspace(kv, scope.signal, want);
        return { header: header(rev()), hash, compactRevision: kv.stats().compactRevision };
      },
      toEtcdStatus,
    ),
    defragment: unary<DefragmentRequest, DefragmentResponse>(
      ctx,
      async (_req, scope) => {
        const m = ctx.deps.maintenance;
        if (m === undefined) throw new RaftkvError('UNAVAILABLE', 'this server was started without access to its stores: Defragment is not available');
        await m.defragment(scope.signal);
        return { header: header(rev()) };
      },
      toEtcdStatus,
    ),
    moveLeader: unary<MoveLeaderRequest, MoveLeaderResponse>(
      ctx,
      (req, scope, call) =>
        ctx.router.onLeader(scope, call.metadata, MaintenanceService.moveLeader, req, async (signal) => {
          if (!node.isLeader()) throw new EtcdError('notLeader');
          const conf = node.stats().raft.conf;
          if (!conf.voters.includes(req.targetID)) throw new EtcdError('badLeaderTransferee');
          if (req.targetID !== node.id) await node.transferLeadership(req.targetID, { signal });
          return { header: header(rev()) };
          // Idempotent: the leader moves while a follower forwards this, and the re-sent call finds
          // the target leading, which is success.
        }, { idempotent: true }),
      toEtcdStatus,
    ),
    snapshot: (call: ServerWritableStream<SnapshotRequest, SnapshotResponse>) => void streamSnapshot(ctx, header, call),
  };
}

/** etcd's Snapshot: the database file in 32 KiB chunks with the bytes still to come, then its SHA-256. */
async function streamSnapshot(ctx: HandlerContext, header: HeaderOf, call: ServerWritableStream<SnapshotRequest, SnapshotResponse>): Promise<void> {
  const scope = callScope(call, SNAPSHOT_STREAM_TIMEOUT_MS, ctx.shutdown);
  try {
    checkMalformed(call.request);
    const snap = await writeEtcdSnapshot(ctx.deps.kv, () => ctx.deps.node.stats().appliedIndex, scope.signal, ctx.deps.options?.scratchDir ?? tmpdir());
    try {
      await sendFile(snap, header(snap.revision), call, scope.signal);
    } finally {
      await snap.remove();
    }
    call.end();
  } catch (e) {
    if (!scope.signal.aborted && !call.cancelled) call.emit('error', toEtcdStatus(e));
    else if (!call.cancelled) call.emit('error', toEtcdStatus(scope.signal.reason));
  } finally {
    scope.dispose();
  }
}

/** The file in 32 KiB messages with the bytes still to come, then one message with its SHA-256. */
async function sendFile(snap: EtcdSnapshotFile, h: ReturnType<HeaderOf>, call: ServerWritableStream<SnapshotRequest, SnapshotResponse>, signal: AbortSignal): Promise<void> {
  const sha = createHash('sha256');
  const file = await open(snap.path, 'r');
  try {
    for (let sent = 0; sent < snap.bytes; ) {
      signal.throwIfAborted();
      const blob = Buffer.allocUnsafe(Math.min(SNAPSHOT_CHUNK_BYTES, snap.bytes - sent));
      const { bytesRead } = await file.read(blob, 0, blob.length, sent);
      if (bytesRead !== blob.length) throw new Error(`snapshot file ${snap.path}: read ${bytesRead} of ${blob.length} bytes at ${sent}`);
      sha.update(blob);
      sent += blob.length;
      if (!call.write({ header: h, remainingBytes: snap.bytes - sent, blob })) await once(call, 'drain', { signal });
    }
  } finally {
    await file.close();
  }
  call.write({ header: h, remainingBytes: 0, blob: sha.digest() });
}
