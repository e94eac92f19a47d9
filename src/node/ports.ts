/**
 * The ports of a raft node: everything the driver (driver.ts) needs from the world, as narrow
 * interfaces. Production wires classic-level, files, TCP and the process's clock, timers and
 * randomness (raft-node.ts); the whole-node simulation (test/sim/node) wires an in-memory disk,
 * an in-memory network and a virtual scheduler, and runs the same driver.
 */
import type { Clock } from '../common/clock.js';
import type { Random } from '../common/random.js';
import type { Timers } from '../common/timers.js';
import type { Storage } from '../raft/storage.js';
import type { ConfState, NodeId, SnapshotMeta } from '../raft/types.js';
import type { LogUpdate, WriteOptions } from '../storage/log-store.js';
import type { RaftTransport, TransportHandlers } from '../transport/raft/types.js';
import type { StateMachine } from './state-machine.js';

/**
 * The durable raft log: the core reads it synchronously (Storage); the driver writes it. Reads see
 * only what a write has made durable. Implemented by DiskStorage (src/storage/log-store.ts).
 */
export interface LogStore extends Storage {
  /**
   * Persist one Ready (a received snapshot's meta, entries, hard state) as one atomic write; `sync`
   * fsyncs it. With a snapshot meta the log restarts after it.
   */
  persist(update: LogUpdate, opts?: WriteOptions): Promise<void>;
  /** Record a snapshot taken locally (its index is in the log); compaction up to it becomes allowed. */
  recordSnapshot(meta: SnapshotMeta): Promise<void>;
  /** Discard entries up to and including `index` (covered by a snapshot). */
  compact(index: number): Promise<void>;
  /** Persist the configuration the driver applied (for status and tools). */
  setConfState(conf: ConfState): Promise<void>;
  /** Bytes of the live log tail held in memory. */
  liveLogBytes(): number;
  close(): Promise<void>;
}

/** A snapshot being written: chunks in order, then commit (durable, and the latest) or abort. */
export interface SnapshotWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<unknown>;
  abort(): Promise<void>;
}

/** Snapshot files of one node. Implemented by FileSnapshotStore (src/storage/snapshot-store.ts). */
export interface SnapshotStore {
  /** The newest committed snapshot, or null before the first one. */
  latest(): { readonly meta: SnapshotMeta; readonly sizeBytes: number } | null;
  create(meta: SnapshotMeta, opts?: { signal?: AbortSignal | undefined }): Promise<SnapshotWriter>;
  /** The data of snapshot `id` (see snapshotId); CorruptionError when it does not verify. */
  open(id: string, opts?: { signal?: AbortSignal | undefined }): Promise<AsyncIterable<Uint8Array>>;
}

/** Raft addresses of the members, kept across restarts. Implemented by AddressBook. */
export interface PeerBook {
  get(id: NodeId): string | undefined;
  entries(): [NodeId, string][];
  set(id: NodeId, addr: string): Promise<void>;
  delete(id: NodeId): Promise<void>;
}

/** Everything a RaftDriver runs on. */
export interface NodePorts {
  readonly log: LogStore;
  readonly snapshots: SnapshotStore;
  readonly peers: PeerBook;
  readonly stateMachine: StateMachine;
  /** Builds the transport around the driver's handlers (the driver starts and closes it). */
  readonly createTransport: (handlers: TransportHandlers) => RaftTransport;
  /** The address peers dial to reach this node (known once the transport has started). */
  readonly raftAddress: () => string;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Seeds the core's randomized election timeouts and the read ids of this incarnation. */
  readonly random: Random;
}
