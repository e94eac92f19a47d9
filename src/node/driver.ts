import type { Logger } from 'pino';
import { NotLeaderError, StoppedError } from '../common/errors.js';
import { SeededRandom } from '../common/random.js';
import type { Timer } from '../common/timers.js';
import { bootstrapEntries } from '../raft/bootstrap.js';
import { decodeConfChange } from '../raft/confchange.js';
import type { BrokenRules } from '../raft/config.js';
import { RawNode } from '../raft/raw-node.js';
import { ConfChangeType, EntryType, Role, roleName, type ConfChange, type Entry, type Message, type NodeId, type Ready, type BasicStatus, type SnapshotMeta } from '../raft/types.js';
import type { RaftTransport, TransportHandlers } from '../transport/raft/types.js';
import { decodeMemberContext, encodeMemberContext } from './address-book.js';
import type { NodePorts } from './ports.js';
import { ProposalWaiters, ReadWaiters, type ApplyResult } from './request-waiters.js';
import { SnapshotManager, type SnapshotPolicy } from './snapshots.js';
import { OutcomeUnknownError } from './waiters.js';

export type { ApplyResult };

export interface LeaderInfo {
  readonly id: NodeId;
  readonly term: number;
  readonly isSelf: boolean;
}

/** What the driver needs to know besides its ports (a subset of RaftNodeOptions, resolved). */
export interface DriverOptions extends SnapshotPolicy {
  readonly id: NodeId;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly pendingProposalsMax: number;
  readonly pendingReadsMax: number;
  /** Bootstrap a new cluster when the log is empty: the initial voters and their raft addresses. */
  readonly bootstrap?: ReadonlyMap<NodeId, string> | undefined;
  readonly logger: Logger;
  /** Simulation only: deliberately broken core rules (see src/raft/config.ts). */
  readonly broken?: BrokenRules | undefined;
}

/** How the driver reports to its owner. */
export interface DriverEvents {
  onLeaderChange(leader: LeaderInfo | null): void;
  /** The loop failed (a disk write, a corrupt snapshot): the driver stopped serving. */
  onFatal(err: Error): void;
  /** A configuration change was applied here (every member applies it); `operator`: from etcd's Member API. */
  onConfChange?(change: AppliedConfChange): void;
}

export interface AppliedConfChange {
  readonly type: ConfChange['type'];
  readonly nodeId: NodeId;
  readonly operator: boolean;
}

/**
 * The host loop of one raft node, on ports only (ports.ts): ticks the core on the timers port,
 * steps it with the transport's messages, and handles each Ready in the contract's order (send,
 * persist, send-after-persist, apply, advance), settling the proposal and read waiters as entries
 * apply. Production (RaftNode) and the whole-node simulation run this same code.
 */
export class RaftDriver {
  readonly id: NodeId;
  readonly transport: RaftTransport;
  readonly snapshots: SnapshotManager;
  private raw!: RawNode;
  /** False until the core exists: the transport listens (and may receive) before that. */
  private coreReady = false;
  private ticker: Timer | null = null;
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private fatalError: Error | null = null;
  readonly proposals: ProposalWaiters;
  readonly reads: ReadWaiters;
  private lastLeader: NodeId = 0;
  private readonly lastHeardAt = new Map<NodeId, number>();

  constructor(
    private readonly opts: DriverOptions,
    readonly ports: NodePorts,
    private readonly events: DriverEvents,
  ) {
    this.id = opts.id;
    this.proposals = new ProposalWaiters(opts.pendingProposalsMax);
    // Random start: a stale answer to a previous incarnation's read can never match a new id.
    this.reads = new ReadWaiters(opts.pendingReadsMax, ports.random.int(2 ** 40), opts.electionTicks);
    this.transport = ports.createTransport(this.transportHandlers());
    this.snapshots = new SnapshotManager(opts, ports.stateMachine, ports.log, ports.snapshots, ports.timers, opts.logger);
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  private transportHandlers(): TransportHandlers {
    return {
      onMessage: (m) => this.onMessage(m),
      onUnreachable: (id) => {
        if (this.coreReady && !this.stopped) this.raw.reportUnreachable(id);
      },
      onSnapshotStatus: (id, ok) => {
        if (!this.coreReady || this.stopped) return;
        this.raw.reportSnapshot(id, ok);
        this.wake();
      },
      openSnapshot: (meta, sig) => this.snapshots.openForSend(meta, sig),
      createSnapshotSink: (meta) => this.snapshots.sinkForReceive(meta),
    };
  }

  /** Start the transport (listen first: a bootstrap records the real address), restore, run. */
  async start(signal?: AbortSignal): Promise<void> {
    await this.transport.start(signal);
    await this.init(signal);
    this.run();
  }

  private async init(signal: AbortSignal | undefined): Promise<void> {
    const { log, stateMachine: sm, peers } = this.ports;
    await this.bootstrapIfFresh();
    this.snapshots.peers = () => Object.fromEntries([...peers.entries()].map(([id, a]) => [String(id), a]));
    this.snapshots.onPeers = async (received) => {
      for (const [id, addr] of Object.entries(received)) await peers.set(Number(id), addr);
    };
    this.snapshots.confNow = () => this.raw.status().conf;
    this.snapshots.coreApplied = () => this.raw.basicStatus().applied;
    await this.snapshots.restoreStateMachineIfBehind(signal);
    this.raw = new RawNode(
      {
        id: this.id,
        random: new SeededRandom(this.ports.random.int(2 ** 32)),
        electionTicks: this.opts.electionTicks,
        heartbeatTicks: this.opts.heartbeatTicks,
        applied: sm.appliedIndex(),
        ...(this.opts.broken ? { broken: this.opts.broken } : {}),
      },
      log,
    );
    this.replayConfChanges();
    this.coreReady = true;
    for (const [id, addr] of peers.entries()) await this.learnPeer(id, addr);
    this.log.info({ term: this.raw.basicStatus().term, lastIndex: log.lastIndex(), applied: sm.appliedIndex() }, 'raft node started');
  }

  private async bootstrapIfFresh(): Promise<void> {
    const { log } = this.ports;
    const boot = this.opts.bootstrap;
    const fresh = log.lastIndex() === 0 && log.initialState().hardState.term === 0;
    if (!fresh || !boot || boot.size === 0) return;
    const voters = [...boot.keys()];
    const addrOf = (id: NodeId): string => (id === this.id ? this.ports.raftAddress() : boot.get(id)!);
    const entries = bootstrapEntries(voters, (id) => encodeMemberContext(addrOf(id)));
    await log.persist({ entries: entries.entries, hardState: entries.hardState }, { sync: true });
    this.log.info({ voters }, 'bootstrapped a new cluster');
  }

  /**
   * The core starts from the snapshot's configuration, but the state machine may have applied
   * entries past the snapshot, which the driver will not re-apply. Replay the configuration changes
   * among them, so a restarted node knows the voters it had before the crash.
   */
  private replayConfChanges(): void {
    const { log, stateMachine: sm } = this.ports;
    const from = Math.max(log.snapshot().meta.index + 1, log.firstIndex());
    const to = Math.min(sm.appliedIndex(), log.lastIndex());
    if (from > to) return;
    for (const e of log.entries(from, to + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.type === EntryType.ConfChange) this.raw.applyConfChange(decodeConfChange(e.data));
    }
  }

  // ------------------------------------------------------------------ the loop

  private run(): void {
    this.ticker = this.ports.timers.every(this.opts.tickMs, () => {
      this.raw.tick();
      this.reads.tick();
      this.wake();
    });
    this.snapshots.startInterval();
    this.loopDone = this.loop().catch((e: unknown) => this.die(e));
  }

  /** Let the loop look for a Ready again (after a tick, a message or a request). */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.startReadRound();
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
    if (rd.snapshot) await this.snapshots.restoreReceived(rd.snapshot.meta);
    // Committed entries already on this node's disk need not wait for this Ready's write: applying
    // them meanwhile takes the disk round trip off the path of every write to its caller.
    const onDisk = rd.snapshot ? 0 : countOnDisk(rd);
    const applying = this.applyEntries(rd.committedEntries.slice(0, onDisk));
    applying.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    try {
      await this.persist(rd);
    } catch (e) {
      await applying.catch(() => undefined);
      throw e;
    }
    for (const m of rd.messagesAfterPersist) this.transport.send(m);
    if (rd.snapshot) this.afterSnapshotInstalled(rd.snapshot.meta);
    await applying;
    await this.applyEntries(rd.committedEntries.slice(onDisk));
    for (const rs of rd.readStates) this.reads.onReadState(rs.context, rs.index);
    this.reads.release(this.ports.stateMachine.appliedIndex());
    this.raw.advance(rd);
    this.snapshots.maybeSnapshot();
  }

  /**
   * One atomic write per Ready. A received snapshot's meta goes in the same write as the hard state
   * (whose commit index it raises), synced: found by the whole-node simulation, a crash between two
   * writes left a commit index below the snapshot, which the core refuses at restart.
   */
  private async persist(rd: Ready): Promise<void> {
    if (!rd.snapshot && rd.entries.length === 0 && !rd.hardState) return;
    const update = { snapshotMeta: rd.snapshot?.meta ?? null, entries: rd.entries, hardState: rd.hardState };
    await this.ports.log.persist(update, { sync: rd.mustSync || rd.snapshot !== null });
  }

  private onSoftState(): void {
    const { lead, term, role } = this.raw.basicStatus();
    if (lead === this.lastLeader) return;
    this.lastLeader = lead;
    this.log.info({ leader: lead, term, role: roleName(role) }, 'leader changed');
    // Reads waiting for an answer from the old leader will never get one: callers retry.
    this.reads.rejectUnanswered(new NotLeaderError(lead, 'leadership changed during a read; retry'));
    this.events.onLeaderChange(this.leader());
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    const sm = this.ports.stateMachine;
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
      this.proposals.settle(e, undefined);
    }
    await this.applyCommands(run);
  }

  /** Consecutive commands go to the state machine as one batch (one db write) when it can. */
  private async applyCommands(run: readonly Entry[]): Promise<void> {
    if (run.length === 0) return;
    const sm = this.ports.stateMachine;
    if (sm.applyBatch && run.length > 1) {
      const results = await sm.applyBatch(run.map((e) => ({ index: e.index, data: e.data })));
      run.forEach((e, i) => this.proposals.settle(e, results[i]));
      return;
    }
    for (const e of run) this.proposals.settle(e, await sm.apply(e.index, e.data));
  }

  private async applyConfChange(cc: ConfChange): Promise<void> {
    const conf = this.raw.applyConfChange(cc);
    await this.ports.log.setConfState(conf);
    if (cc.type === ConfChangeType.RemoveNode) {
      await this.ports.peers.delete(cc.nodeId);
      this.lastHeardAt.delete(cc.nodeId);
      if (cc.nodeId !== this.id) this.transport.removePeer(cc.nodeId);
    } else {
      const { raftAddr } = decodeMemberContext(cc.context);
      if (raftAddr) await this.learnPeer(cc.nodeId, raftAddr);
    }
    this.events.onConfChange?.({ type: cc.type, nodeId: cc.nodeId, operator: decodeMemberContext(cc.context).operator === true });
    this.log.info({ change: ['add-voter', 'add-nonvoter', 'remove'][cc.type], node: cc.nodeId, voters: conf.voters, nonvoters: conf.learners }, 'configuration changed');
  }

  /** Record a peer's address; a malformed one (from a buggy or hostile peer) is logged, not fatal. */
  async learnPeer(id: NodeId, raftAddr: string): Promise<void> {
    if (id === this.id) return;
    try {
      this.transport.setPeer(id, raftAddr);
    } catch (err) {
      this.log.warn({ peer: id, raftAddr, err }, 'ignoring an unusable peer address');
      return;
    }
    await this.ports.peers.set(id, raftAddr);
  }

  private afterSnapshotInstalled(meta: SnapshotMeta): void {
    this.snapshots.installed(meta);
    // Proposals below the snapshot index were decided elsewhere; their callers must retry.
    // The snapshot may or may not contain the entry: only a request id makes a retry safe.
    const why = new OutcomeUnknownError('a snapshot replaced the log before the entry applied; its outcome is unknown');
    this.proposals.rejectUpTo(this.ports.stateMachine.appliedIndex(), why);
    for (const [id, addr] of this.ports.peers.entries()) void this.learnPeer(id, addr);
  }

  private onMessage(m: Message): void {
    // Messages can arrive between listening and the core's creation: raft resends what matters.
    if (this.stopped || !this.coreReady) return;
    this.lastHeardAt.set(m.from, this.ports.clock.nowMs());
    this.raw.step(m);
    this.wake();
  }

  private die(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.fatalError = err;
    this.log.error({ err }, 'raft node stopped on a fatal error');
    this.events.onFatal(err);
  }

  // ------------------------------------------------------------------ requests

  /** Throws StoppedError once the driver stopped (naming the fatal error when it died). */
  checkRunning(): void {
    if (this.fatalError) throw new StoppedError(`raft node (fatal: ${this.fatalError.message})`);
    if (this.stopped) throw new StoppedError('raft node');
  }

  get fatal(): Error | null {
    return this.fatalError;
  }

  /** Propose a command (empty: a barrier); resolves once it applied here, with its result. */
  propose(command: Uint8Array, signal: AbortSignal | undefined): Promise<ApplyResult> {
    this.proposals.checkCapacity();
    const p = this.proposals.add(this.raw.propose(command), signal);
    this.wake();
    return p;
  }

  proposeConfChange(cc: ConfChange, signal: AbortSignal | undefined): Promise<ApplyResult> {
    this.proposals.checkCapacity();
    const p = this.proposals.add(this.raw.proposeConfChange(cc), signal);
    this.wake();
    return p;
  }

  /**
   * A read fence: resolves with a read index once this node applied up to it. The read joins the
   * next ReadIndex round, which the loop starts when none is in flight (one round, many reads).
   */
  readIndex(signal: AbortSignal | undefined): Promise<number> {
    const p = this.reads.add(signal);
    this.wake();
    return p;
  }

  private startReadRound(): void {
    this.reads.startRound((ctx) => this.raw.readIndex(ctx));
  }

  /** Ask the core to hand leadership to `target` (it gives up after an election timeout). */
  transferLeadership(target: NodeId): void {
    this.raw.transferLeadership(target);
    this.wake();
  }

  status(): BasicStatus {
    return this.raw.basicStatus();
  }

  /** The full status, with the leader's view of every peer's progress. */
  fullStatus(): ReturnType<RawNode['status']> {
    return this.raw.status();
  }

  leader(): LeaderInfo | null {
    const { lead, term } = this.raw.basicStatus();
    return lead === 0 ? null : { id: lead, term, isSelf: lead === this.id };
  }

  isLeader(): boolean {
    return this.raw.basicStatus().role === Role.Leader;
  }

  /** Whether this node is a learner (non-voter) in the configuration it has applied. */
  isLearner(): boolean {
    return this.raw.isLearner(this.id);
  }

  /** Milliseconds since a message last arrived from each peer (absent: never heard from). */
  lastContactMs(): Map<NodeId, number> {
    const now = this.ports.clock.nowMs();
    return new Map([...this.lastHeardAt].map(([id, at]) => [id, Math.round(now - at)]));
  }

  /** Stop ticking, finish the current Ready, fail every waiter, close the transport. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker?.cancel();
    this.wake();
    await this.loopDone.catch(() => undefined);
    const err = new StoppedError('raft node');
    this.proposals.rejectAll(err);
    this.reads.rejectAll(err);
    await this.snapshots.stop();
    await this.transport.close();
  }
}

/**
 * How many of the Ready's committed entries were written by earlier Readies: those before the first
 * entry this Ready writes (a follower may learn that entries are committed as it receives them).
 * Applying them before this Ready's write lands is safe: if the process dies first, the state
 * machine is ahead of the commit index on disk, which the core accepts on restart (it caps applied
 * at commit, and the driver skips entries the state machine has applied).
 */
function countOnDisk(rd: Ready): number {
  const firstUnwritten = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
  const i = rd.committedEntries.findIndex((e) => e.index >= firstUnwritten);
  return i === -1 ? rd.committedEntries.length : i;
}
