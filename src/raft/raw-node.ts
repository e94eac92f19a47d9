import { assert } from '../common/assert.js';
import type { RaftConfigInput } from './config.js';
import { resolveConfig } from './config.js';
import { encodeConfChange } from './confchange.js';
import { Raft } from './raft.js';
import type { Storage } from './storage.js';
import {
  EntryType,
  MessageType,
  Role,
  makeMessage,
  type ConfChange,
  type ConfState,
  type HardState,
  type Message,
  type NodeId,
  type ProgressStatus,
  type Ready,
  type SoftState,
  type Status,
  type BasicStatus,
  type Entry,
} from './types.js';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * The small synchronous API a driver uses (after etcd-io/raft's RawNode): feed it ticks, messages
 * and requests; take a Ready; do what it says in order; advance().
 */
/**
 * A read-only look at a node's log (stable and unstable entries), for invariant checkers and tests.
 * Drivers never need it: what they must persist, send and apply comes in a Ready.
 */
export interface RaftLogView {
  readonly committed: number;
  firstIndex(): number;
  lastIndex(): number;
  term(i: number): number | undefined;
  allEntries(): Entry[];
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | null = null;

  constructor(config: RaftConfigInput, storage: Storage) {
    this.raft = new Raft(resolveConfig(config), storage);
    this.prevSoft = this.softState();
    this.prevHard = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Deliver a message from the network. Local message types are refused. */
  step(m: Message): void {
    if (m.type < MessageType.App) return;
    this.raft.step(m);
  }

  /** Append a command to the leader's log. Returns where it will be if it commits. */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.raft.propose(data, EntryType.Normal);
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.raft.propose(encodeConfChange(cc), EntryType.ConfChange);
  }

  /** Ask for a linearizable read point; answered by a ReadState carrying the same context. */
  readIndex(ctx: Uint8Array): void {
    this.raft.readIndex(ctx);
  }

  transferLeadership(target: NodeId): void {
    this.raft.transferLeadership(target);
  }

  /** Start an election now (for a single-node bootstrap, or tests). */
  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.Hup, from: this.raft.id, to: this.raft.id }));
  }

  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: MessageType.Unreachable, from: id, to: this.raft.id }));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(makeMessage({ type: MessageType.SnapStatus, from: id, to: this.raft.id, reject: !ok }));
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }

  hasReady(): boolean {
    const r = this.raft;
    if (this.outstanding) return false;
    const soft = this.softState();
    return (
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role ||
      !sameHardState(r.hardState(), this.prevHard) ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== null ||
      r.msgs.length > 0 ||
      r.msgsAfterPersist.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEnts() ||
      r.appendBroadcastPending ||
      r.readRoundPending
    );
  }

  ready(): Ready {
    assert(this.outstanding === null, 'ready() called again before advance()');
    const r = this.raft;
    r.flushAppendBroadcast();
    r.flushReadRound();
    const soft = this.softState();
    const hard = r.hardState();
    const softChanged = soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
    const hardChanged = !sameHardState(hard, this.prevHard);
    const entries = r.log.unstable.entries.slice();
    const committedEntries = r.log.nextCommittedEnts();
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: hardChanged ? hard : null,
      entries,
      snapshot: r.log.unstable.snapshot,
      committedEntries,
      messages: r.msgs,
      messagesAfterPersist: r.msgsAfterPersist,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    r.msgs = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    if (softChanged) this.prevSoft = soft;
    if (hardChanged) this.prevHard = hard;
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted) r.log.applying = lastCommitted.index;
    this.outstanding = rd;
    return rd;
  }

  /** The driver has done everything `rd` asked. */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = null;
    const r = this.raft;
    if (rd.snapshot) {
      r.log.unstable.stableSnapTo(rd.snapshot.meta.index);
      r.log.applying = Math.max(r.log.applying, rd.snapshot.meta.index);
      r.log.applied = Math.max(r.log.applied, rd.snapshot.meta.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) r.advanceStable(lastEntry.index, lastEntry.term);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) {
      r.log.appliedTo(lastCommitted.index);
      r.reduceUncommitted(rd.committedEntries);
    }
  }

  /** The log, read-only (see RaftLogView). */
  logView(): RaftLogView {
    return this.raft.log;
  }

  /** Whether `id` is a learner in the current configuration (no allocation: asked on every call). */
  isLearner(id: NodeId): boolean {
    return this.raft.trk.isLearner(id);
  }

  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      role: r.role,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      leadTransferee: r.leadTransferee,
    };
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.role === Role.Leader) {
      for (const [id, pr] of r.trk.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive, inflight: pr.inflights.count() });
      }
    }
    return { ...this.basicStatus(), conf: r.trk.confState(), progress };
  }
}
