import type { Storage } from '../../../src/raft/storage.js';
import { EntryType, type NodeId } from '../../../src/raft/types.js';
import { commandId, showId, type KvObserver } from './kv-machine.js';

/**
 * Whole-node invariants, checked as the simulation runs: election safety, state machine safety
 * (one command per index on every replica), equal KV state hashes at equal applied indexes, leader
 * completeness and log matching on the durable logs, and no acknowledged write replaced.
 */
export class NodeChecker implements KvObserver {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** index -> the command applied there ('noop' for entries without one). */
  readonly committed = new Map<number, string>();
  private readonly hashAt = new Map<number, { hash: number; node: NodeId }>();
  /** index -> the result the command had (encoded), on the first replica that applied it. */
  private readonly resultAt = new Map<number, { result: string; node: NodeId }>();
  /** index -> the command a client was told committed there. */
  readonly acked = new Map<number, string>();
  now: () => number = () => 0;

  fail(what: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${this.now()}ms: ${what}`);
  }

  onApplied(node: NodeId, index: number, command: string, result: string): void {
    const prev = this.committed.get(index);
    if (prev === undefined) this.committed.set(index, command);
    else if (prev !== command) this.fail(`state machine safety: n${node} applied ${showId(command)} at index ${index}, where ${showId(prev)} was applied before`);
    const ack = this.acked.get(index);
    if (ack !== undefined && ack !== command) this.fail(`durability: acknowledged ${showId(ack)} at index ${index} was replaced by ${showId(command)} on n${node}`);
    const had = this.resultAt.get(index);
    if (had === undefined) this.resultAt.set(index, { result, node });
    else if (had.result !== result) this.fail(`replica divergence: n${node} got result ${showId(result)} applying index ${index}, n${had.node} got ${showId(had.result)}`);
  }

  onRestored(): void {
    // The state it restored is checked by the onState that follows.
  }

  onState(node: NodeId, index: number, hash: number): void {
    const prev = this.hashAt.get(index);
    if (prev === undefined) this.hashAt.set(index, { hash, node });
    else if (prev.hash !== hash) this.fail(`replica divergence: n${node} has KV state hash ${hash.toString(16)} at applied index ${index}, n${prev.node} had ${prev.hash.toString(16)}`);
  }

  onAck(index: number, command: string): void {
    this.acked.set(index, command);
    const c = this.committed.get(index);
    if (c !== undefined && c !== command) this.fail(`durability: ${showId(command)} acknowledged at index ${index}, where ${showId(c)} applied`);
  }

  onLeader(node: NodeId, term: number): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== node) this.fail(`election safety: n${prev} and n${node} both lead term ${term}`);
    this.leaderOfTerm.set(term, node);
  }

  /**
   * A node's durable log up to its durable commit index holds exactly the commands applied at those
   * indexes (what leader completeness and durability promise, seen on disk).
   */
  checkCommittedPrefix(node: NodeId, log: Storage): void {
    const first = log.firstIndex();
    const last = Math.min(log.lastIndex(), log.initialState().hardState.commit);
    for (const [index, command] of this.committed) {
      if (index < first || index > last) continue;
      const e = log.entries(index, index + 1, Number.MAX_SAFE_INTEGER)[0]!;
      const has = e.type === EntryType.Normal && e.data.byteLength > 0 ? commandId(e.data) : 'noop';
      if (has !== command) this.fail(`committed log: n${node} has ${showId(has)} at committed index ${index} on disk, where ${showId(command)} applied`);
    }
  }

  /** Log matching between two durable logs: agreeing on a later term means agreeing before it. */
  checkLogMatching(a: NodeId, la: Storage, b: NodeId, lb: Storage): void {
    const lo = Math.max(la.firstIndex(), lb.firstIndex());
    const hi = Math.min(la.lastIndex(), lb.lastIndex());
    let agreed = false;
    for (let i = hi; i >= lo; i--) {
      const ta = la.term(i);
      const tb = lb.term(i);
      if (ta === tb) agreed = true;
      else if (agreed) {
        this.fail(`log matching: n${a} and n${b} agree on a later entry but differ at index ${i} (terms ${ta} vs ${tb})`);
        return;
      }
    }
  }
}
