import { assert } from '../common/assert.js';
import { NotLeaderError, ProposalDroppedError, OverloadedError, ErrorCode, RaftkvError } from '../common/errors.js';
import type { RaftConfig } from './config.js';
import { checkConfChange, decodeConfChange, nextConf } from './confchange.js';
import { RaftLog } from './log.js';
import { VoteResult } from './quorum.js';
import { ReadOnly } from './read-only.js';
import type { Storage } from './storage.js';
import { ProgressTracker } from './tracker.js';
import type { Progress } from './progress.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  NONE,
  ProgressState,
  Role,
  makeMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Snapshot,
} from './types.js';

/** Context marking a Vote sent because of a leadership transfer: it bypasses leader leases. */
export const TRANSFER_CONTEXT = new Uint8Array([0x74, 0x72]);

export class ConfChangeInProgressError extends RaftkvError {
  override readonly name = 'ConfChangeInProgressError';
  constructor() {
    super(ErrorCode.ConfChangeInProgress, 'a configuration change is already in progress');
  }
}

export class TransferInProgressError extends RaftkvError {
  override readonly name = 'TransferInProgressError';
  constructor(to: NodeId) {
    super(ErrorCode.TransferInProgress, `leadership transfer to ${to} in progress`);
  }
}

type CampaignKind = 'preElection' | 'election' | 'transfer';

function isTransferContext(ctx: Uint8Array): boolean {
  return ctx.byteLength === 2 && ctx[0] === TRANSFER_CONTEXT[0] && ctx[1] === TRANSFER_CONTEXT[1];
}

function payloadBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (const e of ents) n += e.data.byteLength;
  return n;
}

/**
 * The Raft state machine (§5, §6 of the paper; pre-vote and check-quorum from the thesis). It only
 * reacts to step() and tick(); every effect is queued in `msgs`, `msgsAfterPersist`, the log's
 * unstable part and `readStates`, and handed to the driver by RawNode.ready().
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  readonly trk: ProgressTracker;

  /** Messages that may leave before this Ready is persisted (leader appends and heartbeats). */
  msgs: Message[] = [];
  /** Messages that promise durability (votes, acknowledgements): sent after persisting. */
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change the leader proposed; none may be proposed until it is applied. */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  /** ReadIndex requests: waiting for a heartbeat quorum, or for this leader's first commit. */
  private readonly readOnly = new ReadOnly();
  /** Proposals appended since the last Ready: broadcast once, so a loop turn's proposals batch. */
  appendBroadcastPending = false;
  /** A ReadIndex round to start at the next Ready, shared by every read queued until then. */
  readRoundPending = false;

  constructor(
    readonly config: RaftConfig,
    storage: Storage,
  ) {
    this.id = config.id;
    this.log = new RaftLog(storage, config.committedBytesPerReadyMax);
    this.trk = new ProgressTracker(config.inflightMessagesMax, config.inflightBytesMax);
    const { hardState, confState } = storage.initialState();
    this.trk.setConf(confState, this.log.lastIndex() + 1);
    if (hardState.term !== 0 || hardState.commit !== 0) this.loadHardState(hardState);
    if (config.applied > 0) this.log.appliedTo(Math.min(config.applied, this.log.committed));
    this.becomeFollower(this.term, NONE);
  }

  private loadHardState(hs: HardState): void {
    assert(hs.commit >= this.log.committed && hs.commit <= this.log.lastIndex(), () => `hard state commit ${hs.commit} out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** A voter of the current configuration that may campaign. */
  promotable(): boolean {
    return this.trk.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  // ---------------------------------------------------------------- sending

  private send(m: Message): void {
    const leaderOwned =
      m.type === MessageType.App ||
      m.type === MessageType.Heartbeat ||
      m.type === MessageType.Snap ||
      m.type === MessageType.TimeoutNow ||
      m.type === MessageType.ReadIndexResp;
    if (leaderOwned && this.role === Role.Leader) this.msgs.push(m);
    else this.msgsAfterPersist.push(m);
  }

  private reply(to: NodeId, fields: Partial<Message> & Pick<Message, 'type'>): void {
    this.send(makeMessage({ from: this.id, to, term: this.term, ...fields }));
  }

  /** Send an append (or a snapshot) to `to`. Returns false if nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = this.log.entries(pr.next, this.config.appendBytesMax);
    if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
    if (prevTerm === undefined || ents === undefined) return this.sendSnapshot(to);
    const last = ents.length > 0 ? ents[ents.length - 1]!.index : prevIndex;
    this.send(makeMessage({ type: MessageType.App, from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    pr.sentEntries(ents.length, last, payloadBytes(ents));
    return true;
  }

  private sendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    // A snapshot is expensive: only for followers we have recently heard from.
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot();
    assert(snap.meta.index > 0, 'need a snapshot but none exists');
    pr.becomeSnapshot(snap.meta.index);
    this.send(makeMessage({ type: MessageType.Snap, from: this.id, to, term: this.term, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array): void {
    const pr = this.trk.progress.get(to)!;
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(pr.match, this.log.committed);
    this.send(makeMessage({ type: MessageType.Heartbeat, from: this.id, to, term: this.term, commit, context: ctx }));
  }

  private forEachPeer(f: (id: NodeId) => void): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) f(id);
  }

  bcastAppend(): void {
    this.forEachPeer((id) => this.sendAppend(id));
  }

  private bcastHeartbeat(ctx: Uint8Array = new Uint8Array(0)): void {
    this.forEachPeer((id) => this.sendHeartbeat(id, ctx));
  }

  /** Start the pending ReadIndex round (called once per Ready). */
  flushReadRound(): void {
    if (!this.readRoundPending) return;
    this.readRoundPending = false;
    const ctx = this.readOnly.lastPendingContext();
    if (ctx && this.role === Role.Leader) this.bcastHeartbeat(ctx);
  }

  flushAppendBroadcast(): void {
    if (!this.appendBroadcastPending) return;
    this.appendBroadcastPending = false;
    if (this.role === Role.Leader) this.bcastAppend();
  }

  // ---------------------------------------------------------------- role changes

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.config.electionTicks + this.config.random.int(this.config.electionTicks);
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    this.trk.resetProgress(this.log.lastIndex() + 1, this.id, this.log.stableLastIndex());
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.reset();
    this.readRoundPending = false;
    this.appendBroadcastPending = false;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'leader cannot become pre-candidate');
    // Pre-vote changes neither term nor vote: a partitioned node cannot disrupt the cluster.
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  private becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    assert(this.role !== Role.Follower, 'follower cannot become leader directly');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.trk.progress.get(this.id);
    if (self) self.becomeReplicate();
    // Conf changes wait until everything before this term is applied (no change in flight).
    this.pendingConfIndex = this.log.lastIndex();
    // §8: a no-op entry of the new term lets the leader learn what is committed.
    this.appendEntries([{ term: this.term, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
  }

  // ---------------------------------------------------------------- elections

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    const preVote = kind === 'preElection';
    const transfer = kind === 'transfer';
    let voteTerm: number;
    if (preVote) {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.trk.recordVote(this.id, true);
    if (this.trk.tallyVotes() === VoteResult.Won) {
      // A single-voter configuration wins at once.
      if (preVote) this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const type = preVote ? MessageType.PreVote : MessageType.Vote;
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      this.send(
        makeMessage({
          type,
          from: this.id,
          to: id,
          term: voteTerm,
          index: this.log.lastIndex(),
          logTerm: this.log.lastTerm(),
          context: transfer ? TRANSFER_CONTEXT : new Uint8Array(0),
        }),
      );
    }
  }

  /** Committed but unapplied conf changes may change who votes: do not campaign until applied. */
  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const first = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (first > this.log.committed) return false;
    for (const e of this.log.slice(first, this.log.committed + 1, Number.MAX_SAFE_INTEGER)) {
      if (e.type === EntryType.ConfChange) return true;
    }
    return false;
  }

  private hup(transfer: boolean): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChange()) return;
    this.campaign(transfer ? 'transfer' : this.config.preVote ? 'preElection' : 'election');
  }

  private handleVoteRequest(m: Message): void {
    const preVote = m.type === MessageType.PreVote;
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (preVote && m.term > this.term);
    const upToDate = this.config.broken?.voteWithoutLogCheck === true || this.log.isUpToDate(m.index, m.logTerm);
    const respType = preVote ? MessageType.PreVoteResp : MessageType.VoteResp;
    if (canVote && upToDate) {
      // Answer with the candidate's term: a granted pre-vote must not look stale to it.
      this.send(makeMessage({ type: respType, from: this.id, to: m.from, term: m.term }));
      if (!preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.reply(m.from, { type: respType, reject: true });
    }
  }

  // ---------------------------------------------------------------- ticking

  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.Hup, from: this.id, to: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) this.step(makeMessage({ type: MessageType.CheckQuorum, from: this.id, to: this.id }));
      // A transfer that has not finished within an election timeout is abandoned.
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.Beat, from: this.id, to: this.id }));
    }
  }

  // ---------------------------------------------------------------- stepping

  step(m: Message): void {
    if (!this.stepTerm(m)) return;
    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(m);
        return;
      default:
        this.stepFollower(m);
    }
  }

  /** Term rules common to every role. Returns false when the message must be ignored. */
  private stepTerm(m: Message): boolean {
    if (m.term === 0) return true;
    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const inLease = this.config.checkQuorum && this.lead !== NONE && this.electionElapsed < this.config.electionTicks;
        // A node that hears from a live leader ignores disruptive campaigns (thesis §4.2.3).
        if (inLease && !isTransferContext(m.context)) return false;
      }
      if (m.type === MessageType.PreVote) return true;
      if (m.type === MessageType.PreVoteResp && !m.reject) return true;
      const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
      this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      return true;
    }
    if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // Tell a stale leader about the newer term, or it may never step down.
        this.reply(m.from, { type: MessageType.AppResp });
      } else if (m.type === MessageType.PreVote) {
        this.reply(m.from, { type: MessageType.PreVoteResp, reject: true });
      }
      return false;
    }
    return true;
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive(this.id)) this.becomeFollower(this.term, NONE);
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case MessageType.ReadIndex:
        this.leaderReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.leaderTransfer(m.from);
        return;
    }
    const pr = this.trk.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppResp:
        pr.recentActive = true;
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        this.handleHeartbeatResponse(m, pr);
        return;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat) before probing again.
        pr.probeSent = true;
        return;
      case MessageType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === ProgressState.Probe) pr.becomeReplicate();
      else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);
      if (this.maybeCommit()) {
        this.bcastAppend();
      } else if (wasPaused) {
        this.sendAppend(m.from);
      }
      while (this.sendAppend(m.from, false)) {
        // Fill the follower's window.
      }
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.probeSent = false;
    if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.context.byteLength === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks || !this.trk.hasQuorum(acks)) return;
    for (const r of this.readOnly.advance(m.context)) this.answerRead(r.request, r.index);
  }

  private answerRead(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, context: req.context });
    } else {
      this.send(makeMessage({ type: MessageType.ReadIndexResp, from: this.id, to: req.from, term: this.term, index, context: req.context }));
    }
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private leaderReadIndex(m: Message): void {
    if (this.trk.voters.length <= 1 || this.config.broken?.readIndexWithoutQuorum === true) {
      if (this.committedEntryInCurrentTerm() || this.trk.voters.length > 1) this.answerRead(m, this.log.committed);
      else this.readOnly.defer(m);
      return;
    }
    // §6.4: the commit index is only known to be current once an entry of this term is committed.
    if (!this.committedEntryInCurrentTerm()) {
      this.readOnly.defer(m);
      return;
    }
    this.readOnly.add(this.log.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.readRoundPending = true;
  }

  private releasePendingReadIndexMessages(): void {
    if (!this.readOnly.hasDeferred() || !this.committedEntryInCurrentTerm()) return;
    for (const m of this.readOnly.takeDeferred()) this.leaderReadIndex(m);
  }

  private leaderTransfer(target: NodeId): void {
    const pr = this.trk.progress.get(target);
    if (!pr || pr.isLearner) return;
    if (this.leadTransferee === target) return;
    this.leadTransferee = NONE;
    if (target === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(makeMessage({ type: MessageType.TimeoutNow, from: this.id, to, term: this.term }));
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        this.trk.recordVote(m.from, !m.reject);
        const result = this.trk.tallyVotes();
        if (result === VoteResult.Won) {
          if (this.role === Role.PreCandidate) this.campaign('election');
          else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead !== NONE) this.send({ ...m, to: this.lead });
        return;
      case MessageType.TimeoutNow:
        this.hup(true);
        return;
      case MessageType.ReadIndex:
        if (this.lead !== NONE) this.send({ ...m, to: this.lead });
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context });
        return;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.reply(m.from, { type: MessageType.AppResp, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.reply(m.from, { type: MessageType.AppResp, index: lastNew });
      return;
    }
    // Conflict hint: the leader can skip every index whose term is above the leader's prev term.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.reply(m.from, { type: MessageType.AppResp, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.reply(m.from, { type: MessageType.HeartbeatResp, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s && this.restore(s)) {
      this.reply(m.from, { type: MessageType.AppResp, index: this.log.lastIndex() });
    } else {
      this.reply(m.from, { type: MessageType.AppResp, index: this.log.committed });
    }
  }

  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    // The snapshot's configuration may predate this node's own addition (added after the leader's
    // last snapshot, whose earlier log is compacted): accept it anyway. The entries after it carry
    // the change that adds us; refusing would leave a new member unable ever to catch up.
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We already have the entries: just fast-forward the commit index.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.trk.setConf(s.meta.conf, this.log.lastIndex() + 1);
    return true;
  }

  // ---------------------------------------------------------------- leader log handling

  /** Append entries to the leader's log, stamping term and index. */
  private appendEntries(ents: Entry[]): boolean {
    const bytes = payloadBytes(ents);
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.config.uncommittedBytesMax) return false;
    let li = this.log.lastIndex();
    const stamped = ents.map((e) => ({ term: this.term, index: ++li, type: e.type, data: e.data }));
    this.log.append(stamped);
    this.uncommittedBytes += bytes;
    // The leader's own match advances only once the entries are durable (see advanceStable).
    return true;
  }

  /** The driver persisted entries up to (index, term). */
  advanceStable(index: number, term: number): void {
    this.log.unstable.stableTo(index, term);
    if (this.role !== Role.Leader) return;
    const self = this.trk.progress.get(this.id);
    if (self && this.log.matchTerm(index, term) && self.maybeUpdate(index)) {
      if (this.maybeCommit()) this.bcastAppend();
    }
  }

  reduceUncommitted(ents: readonly Entry[]): void {
    if (this.role !== Role.Leader) return;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(ents));
  }

  /** Commit by counting only entries of the current term (§5.4.2). */
  private maybeCommit(): boolean {
    const mci = this.trk.committed();
    if (mci <= this.log.committed) return false;
    if (this.log.term(mci) !== this.term && this.config.broken?.commitPreviousTermByCounting !== true) return false;
    this.log.commitTo(mci);
    this.releasePendingReadIndexMessages();
    return true;
  }

  // ---------------------------------------------------------------- host requests

  propose(data: Uint8Array, type: EntryType = EntryType.Normal): { index: number; term: number } {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.lead);
    if (!this.trk.progress.has(this.id)) throw new ProposalDroppedError('this node was removed from the configuration');
    if (this.leadTransferee !== NONE) throw new TransferInProgressError(this.leadTransferee);
    if (type === EntryType.ConfChange) {
      if (this.pendingConfIndex > this.log.applied) throw new ConfChangeInProgressError();
      checkConfChange(this.trk.confState(), decodeConfChange(data));
    }
    if (!this.appendEntries([{ term: 0, index: 0, type, data }])) {
      throw new OverloadedError('uncommitted log', this.config.uncommittedBytesMax);
    }
    const index = this.log.lastIndex();
    if (type === EntryType.ConfChange) this.pendingConfIndex = index;
    this.appendBroadcastPending = true;
    if (this.trk.voters.length === 1 && this.trk.progress.size === 1) this.appendBroadcastPending = false;
    return { index, term: this.term };
  }

  readIndex(ctx: Uint8Array): void {
    if (this.role !== Role.Leader && this.lead === NONE) throw new NotLeaderError(NONE);
    this.step(makeMessage({ type: MessageType.ReadIndex, from: this.id, to: this.id, context: ctx }));
  }

  transferLeadership(target: NodeId): void {
    if (this.role !== Role.Leader && this.lead === NONE) throw new NotLeaderError(NONE);
    this.step(makeMessage({ type: MessageType.TransferLeader, from: target, to: this.lead }));
  }

  /** The driver applied a ConfChange entry: switch the configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    this.trk.setConf(nextConf(this.trk.confState(), cc), this.log.lastIndex() + 1);
    if (this.role === Role.Leader) this.afterLeaderConfChange(cc);
    return this.trk.confState();
  }

  private afterLeaderConfChange(cc: ConfChange): void {
    if (!this.trk.isVoter(this.id)) {
      // Removed (or never a voter): stop leading; the remaining voters elect a leader.
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee === cc.nodeId && cc.type === ConfChangeType.RemoveNode) this.leadTransferee = NONE;
    const added = this.trk.progress.get(cc.nodeId);
    if (added && cc.type !== ConfChangeType.RemoveNode && added.match === 0) added.next = this.log.lastIndex() + 1;
    // The quorum changed: the commit index may move, and new members need their first append.
    this.maybeCommit();
    this.bcastAppend();
  }
}
