import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { assert } from '../common/assert.js';
import { NotLeaderError, StoppedError, InvalidArgumentError } from '../common/errors.js';
import { SeededRandom } from '../common/random.js';
import { bootstrapEntries } from '../raft/bootstrap.js';
import { decodeConfChange } from '../raft/confchange.js';
import { RawNode } from '../raft/raw-node.js';
import { ConfChangeType, EntryType, Role, roleName, type ConfChange, type Entry, type NodeId, type Ready, type Status } from '../raft/types.js';
import { DiskStorage } from '../storage/log-store.js';
import { openNodeMeta, nodePaths } from '../storage/node-meta.js';
import { FileSnapshotStore } from '../storage/snapshot-store.js';
import { TcpTransport } from '../transport/raft/tcp-transport.js';
import { AddressBook, decodeMemberContext, encodeMemberContext } from './address-book.js';
import { resolveNodeOptions, type RaftNodeOptions, type ResolvedNodeOptions } from './options.js';
import { SnapshotManager } from './snapshots.js';
import { LeadershipLostError, OutcomeUnknownError, WaiterMap } from './waiters.js';

export interface ApplyResult {
  readonly index: number;
  readonly result: unknown;
}

export interface LeaderInfo {
  readonly id: NodeId;
  readonly term: number;
  readonly isSelf: boolean;
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
  readonly transport: ReturnType<TcpTransport['stats']>;
}

interface PendingProposal {
  readonly term: number;
}

/**
 * A durable Raft node: runs the pure core on real time, persists each Ready to classic-level as one
 * synced batch, talks TCP to its peers and applies committed entries to a StateMachine in order.
 *
 * Events: 'leader-change' (LeaderInfo | null), 'fatal' (Error — the node stopped itself).
 */
export class RaftNode extends EventEmitter {
  readonly id: NodeId;
  private readonly log: Logger;
  private raw!: RawNode;
  /** False until the core exists: the transport listens (and may receive) before that. */
  private coreReady = false;
  private ticker: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private fatal: Error | null = null;
  private readonly proposals: WaiterMap<ApplyResult>;
  private readonly proposalTerms = new Map<number, PendingProposal>();
  private readonly reads: WaiterMap<number>;
  private readonly readIndexes = new Map<number, number>();
  /** Random start: a stale answer to a previous process's read can never match a new id. */
  private readSeq = Math.floor(Math.random() * 2 ** 40);
  private lastLeader: NodeId = 0;
  private readonly lastHeardAt = new Map<NodeId, number>();
  private snapshots!: SnapshotManager;

  private constructor(
    private readonly opts: ResolvedNodeOptions,
    private readonly storage: DiskStorage,
    private readonly store: FileSnapshotStore,
    private readonly book: AddressBook,
    private readonly transport: TcpTransport,
  ) {
    super();
    this.id = opts.id;
    // A logger that already names the node (the CLI puts nodeId in its base) must not get it twice.
    const base = opts.logger ?? pino({ level: 'silent' });
    this.log = 'nodeId' in base.bindings() ? base : base.child({ nodeId: opts.id });
    this.proposals = new WaiterMap('apply backlog', opts.pendingProposalsMax);
    this.reads = new WaiterMap('read backlog', opts.pendingReadsMax);
  }

  /** Open (or create) the node's data directory, restore state, and start ticking and listening. */
  static async start(options: RaftNodeOptions, signal?: AbortSignal): Promise<RaftNode> {
    const opts = resolveNodeOptions(options);
    const paths = nodePaths(opts.dataDir, opts.id);
    await openNodeMeta(paths.root, { nodeId: opts.id, clusterId: opts.clusterId }, signal ? { signal } : {});
    const storage = await DiskStorage.open(paths.raft, signal ? { signal } : {});
    let store: FileSnapshotStore | null = null;
    let transport: TcpTransport | null = null;
    try {
      store = await FileSnapshotStore.open(paths.snapshots);
      const book = await AddressBook.open(paths.root);
      let node: RaftNode | null = null;
      const [host, port] = splitHostPort(opts.raftAddr);
      transport = new TcpTransport({
        localId: opts.id,
        clusterId: opts.clusterId,
        host,
        port,
        ...(opts.peerTls ? { tls: opts.peerTls } : {}),
        // Learned from the log and snapshots first; a discovery layer (gossip) fills the gaps, such
        // as the leader's address for a brand-new node that has not replayed any log yet.
        resolve: (id) => book.get(id) ?? opts.resolveRaftAddress?.(id),
        onMessage: (m) => node?.onMessage(m),
        onUnreachable: (id) => {
          if (node?.coreReady) node.raw.reportUnreachable(id);
        },
        onSnapshotStatus: (id, ok) => {
          if (!node?.coreReady) return;
          node.raw.reportSnapshot(id, ok);
          node.wake();
        },
        openSnapshot: (meta, sig) => node!.snapshots.openForSend(meta, sig),
        createSnapshotSink: (meta) => node!.snapshots.sinkForReceive(meta),
      });
      node = new RaftNode(opts, storage, store, book, transport);
      // Listen first: a bootstrap records this node's real address, not a requested port 0.
      await transport.start(signal);
      await node.init(signal);
      node.run();
      return node;
    } catch (e) {
      await transport?.close();
      await storage.close();
      throw e;
    }
  }

  private async init(signal: AbortSignal | undefined): Promise<void> {
    const fresh = this.storage.lastIndex() === 0 && this.storage.initialState().hardState.term === 0;
    if (fresh && this.opts.bootstrap && this.opts.bootstrap.size > 0) {
      const voters = [...this.opts.bootstrap.keys()];
      const addrOf = (id: NodeId): string => (id === this.id ? this.raftAddress() : this.opts.bootstrap!.get(id)!);
      const boot = bootstrapEntries(voters, (id) => encodeMemberContext(addrOf(id)));
      await this.storage.persist({ entries: boot.entries, hardState: boot.hardState }, { sync: true });
      this.log.info({ voters }, 'bootstrapped a new cluster');
    }
    this.snapshots = new SnapshotManager(this.opts, this.storage, this.store, this.log);
    this.snapshots.peers = () => Object.fromEntries([...this.book.entries()].map(([id, a]) => [String(id), a]));
    this.snapshots.onPeers = async (peers) => {
      for (const [id, addr] of Object.entries(peers)) await this.book.set(Number(id), addr);
    };
    this.snapshots.confNow = () => this.raw.raft.trk.confState();
    await this.snapshots.restoreStateMachineIfBehind(signal);
    this.raw = new RawNode(
      {
        id: this.id,
        random: new SeededRandom((Math.random() * 2 ** 32) >>> 0),
        electionTicks: this.opts.electionTicks,
        heartbeatTicks: this.opts.heartbeatTicks,
        applied: this.opts.stateMachine.appliedIndex(),
      },
      this.storage,
    );
    await this.replayConfChanges();
    this.coreReady = true;
    for (const [id, addr] of this.book.entries()) await this.learnPeer(id, addr);
    this.log.info({ term: this.raw.raft.term, lastIndex: this.storage.lastIndex(), applied: this.opts.stateMachine.appliedIndex() }, 'raft node started');
  }

  /**
   * The core starts from the snapshot's configuration, but the state machine may have applied
   * entries past the snapshot, which the node will not re-apply. Replay the configuration changes
   * among them, so a restarted node knows the voters it had before the crash.
   */
  private async replayConfChanges(): Promise<void> {
    const from = Math.max(this.storage.snapshot().meta.index + 1, this.storage.firstIndex());
    const to = Math.min(this.opts.stateMachine.appliedIndex(), this.storage.lastIndex());
    if (from > to) return;
    for (const e of this.storage.entries(from, to + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.type === EntryType.ConfChange) this.raw.applyConfChange(decodeConfChange(e.data));
    }
  }

  // ------------------------------------------------------------------ the loop

  private run(): void {
    this.ticker = setInterval(() => {
      this.raw.tick();
      this.wake();
    }, this.opts.tickMs);
    this.snapshots.startInterval();
    this.loopDone = this.loop().catch((e: unknown) => this.die(e));
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.raw.hasReady()) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      await this.handleReady(this.raw.ready());
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState();
    // The leader sends its appends before its own disk write finishes (thesis §10.2.1).
    for (const m of rd.messages) this.transport.send(m);
    if (rd.snapshot) await this.snapshots.installReceived(rd.snapshot.meta);
    // Committed entries already on this node's disk need not wait for this Ready's write: applying
    // them meanwhile takes the disk round trip off the path of every write to its caller.
    const onDisk = rd.snapshot ? 0 : countOnDisk(rd);
    const applying = this.applyEntries(rd.committedEntries.slice(0, onDisk));
    applying.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    try {
      if (rd.entries.length > 0 || rd.hardState) {
        await this.storage.persist({ entries: rd.entries, hardState: rd.hardState }, { sync: rd.mustSync });
      }
    } catch (e) {
      await applying.catch(() => undefined);
      throw e;
    }
    for (const m of rd.messagesAfterPersist) this.transport.send(m);
    if (rd.snapshot) this.afterSnapshotInstalled();
    await applying;
    await this.applyEntries(rd.committedEntries.slice(onDisk));
    for (const rs of rd.readStates) this.onReadState(rs.context, rs.index);
    this.releaseReads();
    this.raw.advance(rd);
    this.snapshots.maybeSnapshot();
  }

  private onSoftState(): void {
    const lead = this.raw.raft.lead;
    if (lead === this.lastLeader) return;
    this.lastLeader = lead;
    this.log.info({ leader: lead, term: this.raw.raft.term, role: roleName(this.raw.raft.role) }, 'leader changed');
    // Reads waiting for an answer from the old leader will never get one: callers retry.
    for (const id of this.reads.keys()) {
      if (!this.readIndexes.has(id)) this.reads.reject(id, new NotLeaderError(lead, 'leadership changed during a read; retry'));
    }
    this.emit('leader-change', this.leader());
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    const sm = this.opts.stateMachine;
    let run: Entry[] = [];
    for (const e of entries) {
      if (e.index <= sm.appliedIndex()) continue;
      if (e.type === EntryType.Normal && e.data.byteLength > 0) {
        run.push(e);
        continue;
      }
      await this.applyCommands(run);
      run = [];
      if (e.type === EntryType.ConfChange) await this.applyConfChange(decodeConfChange(e.data));
      await sm.applyNoop(e.index);
      this.settleProposal(e, undefined);
    }
    await this.applyCommands(run);
  }

  /** Consecutive commands go to the state machine as one batch (one db write) when it can. */
  private async applyCommands(run: readonly Entry[]): Promise<void> {
    if (run.length === 0) return;
    const sm = this.opts.stateMachine;
    if (sm.applyBatch && run.length > 1) {
      const results = await sm.applyBatch(run.map((e) => ({ index: e.index, data: e.data })));
      run.forEach((e, i) => this.settleProposal(e, results[i]));
      return;
    }
    for (const e of run) this.settleProposal(e, await sm.apply(e.index, e.data));
  }

  private settleProposal(e: Entry, result: unknown): void {
    const p = this.proposalTerms.get(e.index);
    if (!p) return;
    this.proposalTerms.delete(e.index);
    if (p.term === e.term) this.proposals.resolve(e.index, { index: e.index, result });
    else this.proposals.reject(e.index, new LeadershipLostError());
  }

  private async applyConfChange(cc: ConfChange): Promise<void> {
    const conf = this.raw.applyConfChange(cc);
    await this.storage.setConfState(conf);
    if (cc.type === ConfChangeType.RemoveNode) {
      await this.book.delete(cc.nodeId);
      this.lastHeardAt.delete(cc.nodeId);
      if (cc.nodeId !== this.id) this.transport.removePeer(cc.nodeId);
    } else {
      const { raftAddr } = decodeMemberContext(cc.context);
      if (raftAddr) await this.learnPeer(cc.nodeId, raftAddr);
    }
    this.log.info({ change: ['add-voter', 'add-nonvoter', 'remove'][cc.type], node: cc.nodeId, voters: conf.voters, nonvoters: conf.learners }, 'configuration changed');
  }

  /** Record a peer's address; a malformed one (from a buggy or hostile peer) is logged, not fatal. */
  private async learnPeer(id: NodeId, raftAddr: string): Promise<void> {
    if (id === this.id) return;
    try {
      this.transport.setPeer(id, raftAddr);
    } catch (err) {
      this.log.warn({ peer: id, raftAddr, err }, 'ignoring an unusable peer address');
      return;
    }
    await this.book.set(id, raftAddr);
  }

  private afterSnapshotInstalled(): void {
    // Proposals below the snapshot index were decided elsewhere; their callers must retry.
    const applied = this.opts.stateMachine.appliedIndex();
    for (const [index] of this.proposalTerms) {
      if (index > applied) continue;
      this.proposalTerms.delete(index);
      // The snapshot may or may not contain the entry: only a request id makes a retry safe.
      this.proposals.reject(index, new OutcomeUnknownError('a snapshot replaced the log before the entry applied; its outcome is unknown'));
    }
    for (const [id, addr] of this.book.entries()) void this.learnPeer(id, addr);
  }

  private onMessage(m: Parameters<RawNode['step']>[0]): void {
    // Messages can arrive between listening and the core's creation: raft resends what matters.
    if (this.stopped || !this.coreReady) return;
    this.lastHeardAt.set(m.from, performance.now());
    this.raw.step(m);
    this.wake();
  }

  private onReadState(ctx: Uint8Array, index: number): void {
    const id = decodeReadId(ctx);
    if (id !== null && this.reads.has(id)) this.readIndexes.set(id, index);
  }

  private releaseReads(): void {
    const applied = this.opts.stateMachine.appliedIndex();
    for (const [id, index] of this.readIndexes) {
      if (!this.reads.has(id)) {
        this.readIndexes.delete(id);
        continue;
      }
      if (applied < index) continue;
      this.readIndexes.delete(id);
      this.reads.resolve(id, index);
    }
  }

  private die(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.fatal = err;
    this.log.error({ err }, 'raft node stopped on a fatal error');
    void this.stop().finally(() => this.emit('fatal', err));
  }

  // ------------------------------------------------------------------ host API

  private checkRunning(): void {
    if (this.fatal) throw new StoppedError(`raft node (fatal: ${this.fatal.message})`);
    if (this.stopped) throw new StoppedError('raft node');
  }

  /** Replicate `command` and apply it; resolves with the state machine's result. */
  async apply(command: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<ApplyResult> {
    this.checkRunning();
    if (command.byteLength === 0) throw new InvalidArgumentError('empty command');
    return this.propose(command, opts.signal);
  }

  private propose(command: Uint8Array, signal: AbortSignal | undefined): Promise<ApplyResult> {
    this.proposals.checkCapacity();
    const { index, term } = this.raw.propose(command);
    this.proposalTerms.set(index, { term });
    const p = this.proposals.wait(index, signal);
    p.catch(() => this.proposalTerms.delete(index));
    this.wake();
    return p;
  }

  /** Resolves once every entry committed before the call has been applied here (leader only). */
  async barrier(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.checkRunning();
    const r = await this.propose(new Uint8Array(0), opts.signal);
    return r.index;
  }

  /**
   * A linearizable read fence: resolves with a read index once this node has applied everything
   * committed before the call. Works on followers (the leader confirms with a heartbeat round).
   */
  async readIndex(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.checkRunning();
    this.reads.checkCapacity();
    const id = ++this.readSeq;
    const p = this.reads.wait(id, opts.signal);
    try {
      this.raw.readIndex(encodeReadId(id));
    } catch (e) {
      this.reads.reject(id, e);
    }
    this.wake();
    return p;
  }

  leader(): LeaderInfo | null {
    const lead = this.raw.raft.lead;
    return lead === 0 ? null : { id: lead, term: this.raw.raft.term, isSelf: lead === this.id };
  }

  isLeader(): boolean {
    return this.raw.raft.role === Role.Leader;
  }

  raftAddress(): string {
    const a = this.transport.address();
    return this.opts.advertiseRaftAddr ?? `${a.host}:${a.port}`;
  }

  peerAddress(id: NodeId): string | undefined {
    return id === this.id ? this.raftAddress() : this.book.get(id);
  }

  /**
   * Tell the node where a peer listens, before the log says so: a new node needs the leader's
   * address to answer its first append.
   */
  async setPeerAddress(id: NodeId, raftAddr: string): Promise<void> {
    await this.learnPeer(id, raftAddr);
  }

  addVoter(id: NodeId, raftAddr: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    return this.changeConf({ type: ConfChangeType.AddVoter, nodeId: id, context: encodeMemberContext(raftAddr) }, raftAddr, opts.signal);
  }

  addNonvoter(id: NodeId, raftAddr: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
    return this.changeConf({ type: ConfChangeType.AddLearner, nodeId: id, context: encodeMemberContext(raftAddr) }, raftAddr, opts.signal);
  }

  removeServer(id: NodeId, opts: { signal?: AbortSignal } = {}): Promise<number> {
    return this.changeConf({ type: ConfChangeType.RemoveNode, nodeId: id, context: new Uint8Array(0) }, undefined, opts.signal);
  }

  private async changeConf(cc: ConfChange, raftAddr: string | undefined, signal: AbortSignal | undefined): Promise<number> {
    this.checkRunning();
    assert(Number.isInteger(cc.nodeId) && cc.nodeId > 0, 'node id must be a positive integer');
    if (raftAddr !== undefined) await this.learnPeer(cc.nodeId, raftAddr);
    this.proposals.checkCapacity();
    const { index, term } = this.raw.proposeConfChange(cc);
    this.proposalTerms.set(index, { term });
    const p = this.proposals.wait(index, signal);
    p.catch(() => this.proposalTerms.delete(index));
    this.wake();
    return (await p).index;
  }

  /** Hand leadership to `target` (or the most caught-up voter); resolves when it leads. */
  async transferLeadership(target: NodeId | null, opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.checkRunning();
    if (!this.isLeader()) throw new NotLeaderError(this.raw.raft.lead);
    const to = target ?? this.bestTransferTarget();
    if (to === null) throw new InvalidArgumentError('no other voter to transfer leadership to');
    this.raw.transferLeadership(to);
    this.wake();
    const deadlineMs = this.opts.tickMs * this.opts.electionTicks * 3;
    await this.waitFor(
      () => {
        if (this.raw.raft.lead === to) return true;
        // The target refuses to campaign while it has a committed but unapplied configuration
        // change, and the core abandons the transfer after an election timeout: ask again.
        if (this.isLeader() && this.raw.raft.leadTransferee === 0) {
          this.raw.transferLeadership(to);
          this.wake();
        }
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
    for (const [id, pr] of this.raw.status().progress) {
      if (id === this.id || pr.isLearner || !this.raw.raft.trk.isVoter(id)) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** Wait for a condition re-checked on every leader change and tick, with a deadline. */
  waitFor(cond: () => boolean, timeoutMs: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const timer = setInterval(check, Math.max(5, Math.floor(this.opts.tickMs / 2)));
      const deadline = setTimeout(() => finish(new NotLeaderError(this.raw.raft.lead, `${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = (): void => finish(signal?.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      function finish(err?: unknown): void {
        clearInterval(timer);
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      }
      function check(): void {
        if (cond()) finish();
      }
    });
  }

  /** Take a snapshot now; resolves with its index. */
  async snapshot(opts: { signal?: AbortSignal } = {}): Promise<number> {
    this.checkRunning();
    return this.snapshots.take(opts.signal);
  }

  /** The newest snapshot on disk (index, term, data size), or null before the first one. */
  latestSnapshot(): { index: number; term: number; sizeBytes: number } | null {
    const info = this.store.latest();
    return info ? { index: info.meta.index, term: info.meta.term, sizeBytes: info.sizeBytes } : null;
  }

  stats(): NodeStats {
    return {
      raft: this.raw.status(),
      appliedIndex: this.opts.stateMachine.appliedIndex(),
      logBytes: this.storage.liveLogBytes(),
      snapshotsTaken: this.snapshots.taken,
      lastSnapshotIndex: this.storage.snapshot().meta.index,
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
      lastContactMs: new Map([...this.lastHeardAt].map(([id, at]) => [id, Math.round(performance.now() - at)])),
      transport: this.transport.stats(),
    };
  }

  /** Stop ticking, finish the current Ready, close sockets and the log. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.wake();
    await this.loopDone.catch(() => undefined);
    const err = new StoppedError('raft node');
    this.proposals.rejectAll(err);
    this.reads.rejectAll(err);
    await this.snapshots?.stop();
    await this.transport.close();
    await this.storage.close();
    this.log.info('raft node stopped');
  }
}

/**
 * How many of the Ready's committed entries were written by earlier Readies: those before the first
 * entry this Ready writes (a follower may learn that entries are committed as it receives them).
 * Applying them before this Ready's write lands is safe: if the process dies first, the state
 * machine is ahead of the commit index on disk, which the core accepts on restart (it caps applied
 * at commit, and the node skips entries the state machine has applied).
 */
function countOnDisk(rd: Ready): number {
  const firstUnwritten = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
  const i = rd.committedEntries.findIndex((e) => e.index >= firstUnwritten);
  return i === -1 ? rd.committedEntries.length : i;
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`bad address "${addr}": want host:port`);
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), port];
}

function encodeReadId(id: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, id);
  return b;
}

function decodeReadId(ctx: Uint8Array): number | null {
  if (ctx.byteLength !== 8) return null;
  return new DataView(ctx.buffer, ctx.byteOffset, 8).getFloat64(0);
}

