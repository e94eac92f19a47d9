import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { KvStore } from '../kv/store.js';
import { encodeCommand } from '../kv/codec.js';
import { validateCommand } from '../kv/validate.js';
import type { NodeId } from '../raft/types.js';
import { StaticResolver } from '../resolver/static.js';
export { parsePeers, checkHostPort } from '../resolver/static.js';
import type { AddressResolver } from '../resolver/types.js';
import { startGrpcServer, type RaftkvGrpcServer } from '../service/grpc-server.js';
import type { ServiceOptions } from '../service/deps.js';
import { nodePaths } from '../storage/node-meta.js';
import { KvStateMachine } from './kv-state-machine.js';
import type { RaftNodeOptions } from './options.js';
import { RaftNode } from './raft-node.js';

export interface ServerOptions {
  readonly id: NodeId;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  readonly dataDir: string;
  /** Bootstrap a single-node cluster of just this node when the data directory is empty. */
  readonly bootstrap?: boolean;
  /** Other nodes' gRPC addresses (the static resolver); this node's own bound address is added. */
  readonly peers?: ReadonlyMap<NodeId, string>;
  /**
   * Raft addresses of the current members, for a node that is about to join: a fresh node learns
   * addresses only from log entries it has not received yet, so without these it could not answer
   * the leader. Written to the node's address book (peers.json) only when it has none yet.
   */
  readonly knownRaftPeers?: ReadonlyMap<NodeId, string>;
  /** Use this resolver instead of a StaticResolver over `peers`. */
  readonly resolver?: AddressResolver;
  readonly logger?: Logger;
  readonly raft?: Partial<Pick<RaftNodeOptions, 'tickMs' | 'electionTicks' | 'heartbeatTicks' | 'snapshotEntries' | 'snapshotIntervalMs' | 'trailingLogs' | 'pendingProposalsMax' | 'pendingReadsMax' | 'clusterId'>>;
  readonly service?: ServiceOptions;
  /** In-flight gRPC calls get this long to finish on stop() before they are cut off. */
  readonly drainGraceMs?: number;
}

export interface ServerHandle {
  readonly id: NodeId;
  readonly node: RaftNode;
  readonly store: KvStore;
  readonly grpcAddress: string;
  readonly raftAddress: string;
  /** Graceful: hand off leadership, drain gRPC, stop raft, close the store. Idempotent. */
  stop(): Promise<void>;
}

const DRAIN_GRACE_MS_DEFAULT = 5_000;

/** The composition root: KV store, raft node, gRPC server, in that order; stop() undoes them in reverse. */
export async function startServer(o: ServerOptions, signal?: AbortSignal): Promise<ServerHandle> {
  // The caller's logger already names the node (the CLI puts nodeId in its base).
  const log = o.logger ?? pino({ level: 'silent' }).child({ nodeId: o.id });
  if (o.knownRaftPeers && o.knownRaftPeers.size > 0) await seedAddressBook(nodePaths(o.dataDir, o.id).root, o.knownRaftPeers, o.id);
  const store = await KvStore.open({ dir: nodePaths(o.dataDir, o.id).kv });
  let node: RaftNode | null = null;
  let grpc: RaftkvGrpcServer | null = null;
  const staticResolver = o.resolver ? null : new StaticResolver(o.peers ?? new Map());
  const resolver = o.resolver ?? staticResolver!;
  try {
    node = await RaftNode.start(
      {
        id: o.id,
        raftAddr: o.raftAddr,
        dataDir: o.dataDir,
        stateMachine: new KvStateMachine(store),
        logger: log,
        ...o.raft,
        ...(o.bootstrap ? { bootstrap: new Map([[o.id, o.raftAddr]]) } : {}),
      },
      signal,
    );
    const raftAddress = node.raftAddress();
    const kv = {
      validateCommand,
      encodeCommand,
      get: (key: Uint8Array) => store.get(key),
      range: (op: Parameters<KvStore['range']>[0]) => store.range(op),
      watch: (opts: Parameters<KvStore['watch']>[0]) => store.watch(opts),
      stats: () => store.stats(),
    };
    const learn = staticResolver ? (id: number, addr: string) => staticResolver.set(id, addr) : undefined;
    grpc = await startGrpcServer({ node, kv, resolver, logger: log, ...(o.service ? { options: o.service } : {}) }, o.grpcAddr, learn ? { learnAddress: learn } : {});
    staticResolver?.set(o.id, grpc.address);
    log.info({ raftAddr: raftAddress, grpcAddr: grpc.address }, 'server started');
    return makeHandle(o, log, store, node, grpc, resolver, raftAddress);
  } catch (e) {
    await grpc?.shutdown(0);
    await node?.stop();
    await store.close();
    resolver.close();
    throw e;
  }
}

function makeHandle(o: ServerOptions, log: Logger, store: KvStore, node: RaftNode, grpc: RaftkvGrpcServer, resolver: AddressResolver, raftAddress: string): ServerHandle {
  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    const t0 = Date.now();
    if (node.isLeader() && node.stats().raft.conf.voters.length > 1) {
      try {
        await node.transferLeadership(null, { signal: AbortSignal.timeout(2_000) });
        log.info({ leader: node.leader()?.id }, 'handed leadership off before stopping');
      } catch (err) {
        log.warn({ err }, 'leadership transfer before stopping failed; stopping anyway');
      }
    }
    await grpc.shutdown(o.drainGraceMs ?? DRAIN_GRACE_MS_DEFAULT);
    await node.stop();
    await store.close();
    resolver.close();
    log.info({ ms: Date.now() - t0 }, 'server stopped');
  };
  return {
    id: o.id,
    node,
    store,
    grpcAddress: grpc.address,
    raftAddress,
    stop: () => (stopping ??= stop()),
  };
}

/**
 * The address book file of src/node/address-book.ts (a JSON object id -> raft address). Seeded here
 * because RaftNode has no option for initial peers yet; a restarted node keeps its own book.
 */
async function seedAddressBook(root: string, peers: ReadonlyMap<NodeId, string>, selfId: NodeId): Promise<void> {
  const file = join(root, 'peers.json');
  const exists = await access(file).then(() => true, () => false);
  if (exists) return;
  await mkdir(root, { recursive: true });
  const obj = Object.fromEntries([...peers].filter(([id]) => id !== selfId).map(([id, a]) => [String(id), a]));
  await writeFileAtomic(file, `${JSON.stringify(obj)}\n`);
}
