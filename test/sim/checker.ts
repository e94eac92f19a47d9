import type { Entry, NodeId } from '../../src/raft/types.js';
import type { RaftLogView } from '../../src/raft/raw-node.js';

function entryKey(e: Entry): string {
  return `${e.type}:${new TextDecoder().decode(e.data)}`;
}

export interface AckedWrite {
  readonly index: number;
  readonly term: number;
  readonly value: string;
  readonly tick: number;
}

/**
 * The safety properties of Raft (Figure 3 of the paper) plus client-visible guarantees, checked as
 * the simulation runs. Every violation is recorded with the tick it was seen at.
 */
export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** index -> entry applied there (apply implies committed). */
  private readonly committed = new Map<number, { term: number; key: string }>();
  /** "index:term" -> entry contents, for "same index and term means same entry". */
  private readonly created = new Map<string, string>();
  readonly acked: AckedWrite[] = [];
  maxAckedIndex = 0;

  fail(tick: number, what: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${tick}: ${what}`);
  }

  /** Election safety: at most one leader per term. */
  onLeader(tick: number, id: NodeId, term: number, log: RaftLogView): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) this.fail(tick, `election safety: nodes ${prev} and ${id} both lead term ${term}`);
    this.leaderOfTerm.set(term, id);
    // Leader completeness: every committed entry is in the new leader's log (or its snapshot).
    const first = log.firstIndex();
    for (const [index, c] of this.committed) {
      if (index < first) continue;
      const t = log.term(index);
      if (t !== c.term) this.fail(tick, `leader completeness: leader ${id} of term ${term} has term ${t} at committed index ${index} (committed term ${c.term})`);
    }
  }

  onEntriesCreated(tick: number, id: NodeId, ents: readonly Entry[]): void {
    for (const e of ents) {
      const k = `${e.index}:${e.term}`;
      const v = entryKey(e);
      const prev = this.created.get(k);
      if (prev === undefined) this.created.set(k, v);
      else if (prev !== v) this.fail(tick, `log matching: node ${id} holds a different entry at index ${e.index} term ${e.term}`);
    }
  }

  /** State machine safety: no two nodes apply different entries at one index. */
  onApply(tick: number, id: NodeId, e: Entry): void {
    const key = entryKey(e);
    const prev = this.committed.get(e.index);
    if (prev === undefined) this.committed.set(e.index, { term: e.term, key });
    else if (prev.term !== e.term || prev.key !== key) {
      this.fail(tick, `state machine safety: node ${id} applied ${e.term}/${e.index} "${key}" but ${prev.term}/${e.index} "${prev.key}" was applied before`);
    }
  }

  onAck(w: AckedWrite): void {
    this.acked.push(w);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, w.index);
  }

  /** A ReadIndex read must observe every write acknowledged before the read began. */
  onReadServed(tick: number, id: NodeId, readIndex: number, appliedIndex: number, requiredIndex: number): void {
    if (readIndex < requiredIndex || appliedIndex < requiredIndex) {
      this.fail(tick, `linearizable read: node ${id} served a read at index ${readIndex} (applied ${appliedIndex}) but a write at index ${requiredIndex} was acknowledged before the read began`);
    }
  }

  /** Log matching between two logs: once terms agree at an index, everything before agrees too. */
  checkLogMatching(tick: number, a: NodeId, la: RaftLogView, b: NodeId, lb: RaftLogView): void {
    const lo = Math.max(la.firstIndex(), lb.firstIndex());
    const hi = Math.min(la.lastIndex(), lb.lastIndex());
    let agreed = false;
    for (let i = hi; i >= lo; i--) {
      const ta = la.term(i);
      const tb = lb.term(i);
      if (ta === tb) agreed = true;
      else if (agreed) {
        this.fail(tick, `log matching: nodes ${a} and ${b} agree on a later entry but differ at index ${i} (terms ${ta} vs ${tb})`);
        return;
      }
    }
  }

  committedIndexes(): number {
    return this.committed.size;
  }
}
