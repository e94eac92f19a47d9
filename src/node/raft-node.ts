import { parseHostPort } from '../common/host-port.js';
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { assert } from '../common/assert.js';
import { systemClock } from '../common/clock.js';
import { AbortedError, NotLeaderError, InvalidArgumentError } from '../common/errors.js';
import { systemRandom } from '../common/random.js';
import { systemTimers } from '../common/timers.js';
import { ConfChangeType, type ConfChange, type NodeId, type Status } from '../raft/types.js';
import { DiskStorage } from '../storage/log-store.js';
import { openNodeMeta, nodePaths } from '../storage/node-meta.js';
import { snapshotId } from '../storage/snapshot-meta.js';
import { FileSnapshotStore } from '../storage/snapshot-store.js';
import { TcpTransport } from '../transport/raft/tcp-transport.js';
import type { TransportStats } from '../transport/raft/stats.js';
import { AddressBook, encodeMemberContext } from './address-book.js';
import { RaftDriver, type AppliedConfChange, type ApplyResult, type LeaderInfo } from './driver.js';
import { resolveNodeOptions, type RaftNodeOptions, type ResolvedNodeOptions } from './options.js';
import type { NodePorts } from './ports.js';

export type { AppliedConfChange, ApplyResult, LeaderInfo };

/** Options of a configuration change; `operator` marks an operator's change (etcd's Member API) for autopilot. */
export interface ConfChangeOptions {
  readonly signal?: AbortSignal;
  readonly operator?: boolean;
}

export interface NodeStats {
  readonly raft: Status;
  readonly appliedIndex: number;
  readonly logBytes: number;
  readonly snapshotsTaken: number;
  readonly lastSnapshotIndex: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  /** Milliseconds since a message last arrived from each peer (absent: never heard from). */
  readonly lastContactMs: ReadonlyMap<NodeId, number>;
  readonly transport: TransportStats;
}

/**
 * A durable Raft node in production: wires the driver (driver.ts) to classic-level, snapshot files,
 * the address book file, TCP, and the process's clock, timers and randomness, and owns their
 * lifecycle. The Ready loop, apply and the waiters live in the driver, which the simulation runs too.
 *
 * Events: 'leader-change' (LeaderInfo | null), 'fatal' (Error — the node stopped itself),
 * 'conf-change' (AppliedConfChange — a configuration entry was applied here).
 */
export class RaftNode extends EventEmitter {
  readonly id: NodeId;
  private driver!: RaftDriver;
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly opts: ResolvedNodeOptions,
    private readonly ports: NodePorts,
  ) {
    super();
    this.id = opts.id;
  }

  /** Open (or create) the node's data directory, restore state, and start ticking and listening. */
  static async start(options: RaftNodeOptions, signal?: AbortSignal): Promise<RaftNode> {
    const opts = resolveNodeOptions(options);
    const paths = nodePaths(opts.dataDir, opts.id);
    const sig = signal ? { signal } : {};
    await openNodeMeta(paths.root, { nodeId: opts.id, clusterId: opts.clusterId }, sig);
    const log = await DiskStorage.open(paths.raft, sig);
    let node: RaftNode | null = null;
    try {
      // The snapshot the log names stays on disk: a restart restores the state machine from it.
      const pinned = (): string | null => {
        const m = log.snapshot().meta;
        return m.index === 0 ? null : snapshotId(m.index, m.term);
      };
      const snapshots = await FileSnapshotStore.open(paths.snapshots, { pinned });
      const peers = await AddressBook.open(paths.root);
      let tcp: TcpTransport | null = null;
      const { host, port } = parseHostPort(opts.raftAddr, { portZero: true, what: '--raft_addr' });
      const ports: NodePorts = {
        log,
        snapshots,
        peers,
        stateMachine: opts.stateMachine,
        createTransport: (handlers) => {
          tcp = new TcpTransport({
            ...handlers,
            localId: opts.id,
            clusterId: opts.clusterId,
            host,
            port,
            ...(opts.peerTls ? { tls: opts.peerTls } : {}),
            // Learned from the log and snapshots first; a discovery layer (gossip) fills the gaps, such
            // as the leader's address for a brand-new node that has not replayed any log yet.
            resolve: (id) => peers.get(id) ?? opts.resolveRaftAddress?.(id),
          });
          return tcp;
        },
        raftAddress: () => {
          const a = tcp!.address();
          return opts.advertiseRaftAddr ?? `${a.host}:${a.port}`;
        },
        clock: systemClock,
        timers: systemTimers,
        random: systemRandom,
      };
      node = new RaftNode(opts, ports);
      node.driver = new RaftDriver(
        { ...opts, logger: nodeLogger(opts) },
        ports,
        { onLeaderChange: (l) => node!.emit('leader-change', l), onFatal: (err) => node!.onFatal(err), onConfChange: (c) => node!.emit('conf-change', c) },
      );
      await node.driver.start(signal);
      return node;
    } catch (e) {
      await node?.driver?.transport.close();
      await log.close();
      throw e;
    }
  }

  private onFatal(err: Error): void {
    void this.stop().finally(() => this.emit('fatal', err));
  }

  // ------------------------------------------------------------------ host API

  /** Replicate `command` and apply it; resolves with the state machine's result. */
  async apply(command: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<ApplyResult> {
    this.driver.checkRunning();
    if (command.byteLength === 0) throw new InvalidArgumentError('empty command');
    return this.driver.propose(command, opts.signal);
  }

  /** Resolves once every entry committed before the call has been applied here (leader only). */
  async barrier(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.driver.checkRunning();
    const r = await this.driver.propose(new Uint8Array(0), opts.signal);
    return r.index;
  }

  /**
   * A linearizable read fence: resolves with a read index once this node has applied everything
   * committed before the call. Works on followers (the leader confirms with a heartbeat round).
   */
  async readIndex(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.driver.checkRunning();
    return this.driver.readIndex(opts.signal);
  }

  leader(): LeaderInfo | null {
    return this.driver.leader();
  }

  isLeader(): boolean {
    return this.driver.isLeader();
  }

  isLearner(): boolean {
    return this.driver.isLearner();
  }

  term(): number {
    return this.driver.status().term;
  }

  raftAddress(): string {
    return this.ports.raftAddress();
  }

  peerAddress(id: NodeId): string | undefined {
    return id === this.id ? this.raftAddress() : this.ports.peers.get(id);
  }

  /**
   * Tell the node where a peer listens, before the log says so: a new node needs the leader's
   * address to answer its first append.
   */
  async setPeerAddress(id: NodeId, raftAddr: string): Promise<void> {
    await this.driver.learnPeer(id, raftAddr);
  }

  /** Adds a voter, promotes a non-voter, or (for a voter) replaces its address everywhere. */
  addVoter(id: NodeId, raftAddr: string, opts: ConfChangeOptions = {}): Promise<number> {
    return this.changeConf({ type: ConfChangeType.AddVoter, nodeId: id, context: encodeMemberContext(raftAddr, opts.operator) }, raftAddr, opts.signal);
  }

  /** Adds a non-voter, or (for a non-voter) replaces its address everywhere. */
  addNonvoter(id: NodeId, raftAddr: string, opts: ConfChangeOptions = {}): Promise<number> {
    return this.changeConf({ type: ConfChangeType.AddLearner, nodeId: id, context: encodeMemberContext(raftAddr, opts.operator) }, raftAddr, opts.signal);
  }

  removeServer(id: NodeId, opts: ConfChangeOptions = {}): Promise<number> {
    return this.changeConf({ type: ConfChangeType.RemoveNode, nodeId: id, context: encodeMemberContext(undefined, opts.operator) }, undefined, opts.signal);
  }

  private async changeConf(cc: ConfChange, raftAddr: string | undefined, signal: AbortSignal | undefined): Promise<number> {
    this.driver.checkRunning();
    assert(Number.isInteger(cc.nodeId) && cc.nodeId > 0, 'node id must be a positive integer');
    if (raftAddr !== undefined) await this.driver.learnPeer(cc.nodeId, raftAddr);
    return (await this.driver.proposeConfChange(cc, signal)).index;
  }

  /** Hand leadership to `target` (or the most caught-up voter); resolves when it leads. */
  async transferLeadership(target: NodeId | null, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.driver.checkRunning();
    if (!this.isLeader()) throw new NotLeaderError(this.driver.status().lead);
    const to = target ?? this.bestTransferTarget();
    if (to === null) throw new InvalidArgumentError('no other voter to transfer leadership to');
    this.driver.transferLeadership(to);
    const deadlineMs = this.opts.tickMs * this.opts.electionTicks * 3;
    await this.waitFor(
      () => {
        const st = this.driver.status();
        if (st.lead === to) return true;
        // The target refuses to campaign while it has a committed but unapplied configuration
        // change, and the core abandons the transfer after an election timeout: ask again.
        if (this.isLeader() && st.leadTransferee === 0) this.driver.transferLeadership(to);
        return false;
      },
      deadlineMs,
      opts.signal,
      `leadership transfer to ${to}`,
    );
  }

  private bestTransferTarget(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    const st = this.driver.fullStatus();
    for (const [id, pr] of st.progress) {
      if (id === this.id || pr.isLearner || !st.conf.voters.includes(id)) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** Wait for a condition re-checked on every leader change and tick, with a deadline. */
  waitFor(cond: () => boolean, timeoutMs: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    const { timers } = this.ports;
    return new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const timer = timers.every(Math.max(5, Math.floor(this.opts.tickMs / 2)), check);
      const deadline = timers.after(timeoutMs, () => finish(new NotLeaderError(this.driver.status().lead, `${what} did not finish within ${timeoutMs} ms`)));
      const onAbort = (): void => finish(signal?.reason instanceof Error ? signal.reason : new AbortedError(`${what} aborted`));
      signal?.addEventListener('abort', onAbort, { once: true });
      function finish(err: Error | null = null): void {
        timer.cancel();
        deadline.cancel();
        signal?.removeEventListener('abort', onAbort);
        if (err !== null) reject(err);
        else resolve();
      }
      function check(): void {
        if (cond()) finish();
      }
    });
  }

  /** Take a snapshot now; resolves with its index. */
  async snapshot(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.driver.checkRunning();
    return this.driver.snapshots.take(opts.signal);
  }

  /** The newest snapshot on disk (index, term, data size), or null before the first one. */
  latestSnapshot(): { index: number; term: number; sizeBytes: number } | null {
    const info = this.ports.snapshots.latest();
    return info ? { index: info.meta.index, term: info.meta.term, sizeBytes: info.sizeBytes } : null;
  }

  /** ReadIndex rounds this node started (each serves every read queued for it): reads ÷ rounds is the batching. */
  readRoundsStarted(): number {
    return this.driver.reads.roundsStarted;
  }

  stats(): NodeStats {
    const { log, stateMachine } = this.ports;
    return {
      raft: this.driver.fullStatus(),
      appliedIndex: stateMachine.appliedIndex(),
      logBytes: log.liveLogBytes(),
      snapshotsTaken: this.driver.snapshots.taken,
      lastSnapshotIndex: log.snapshot().meta.index,
      pendingProposals: this.driver.proposals.size,
      pendingReads: this.driver.reads.size,
      lastContactMs: this.driver.lastContactMs(),
      transport: this.driver.transport.stats(),
    };
  }

  /** Stop ticking, finish the current Ready, close sockets and the log. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    await this.driver.stop();
    await this.ports.log.close();
    nodeLogger(this.opts).info('raft node stopped');
  }
}

/** A logger that already names the node (the CLI puts nodeId in its base) must not get it twice. */
function nodeLogger(opts: ResolvedNodeOptions): Logger {
  const base = opts.logger ?? pino({ level: 'silent' });
  return 'nodeId' in base.bindings() ? base : base.child({ nodeId: opts.id });
}
