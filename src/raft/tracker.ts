import { Progress } from './progress.js';
import { committedIndex, voteResult, majority, type VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

/** The configuration (voters, learners) and the leader's per-member Progress. */
export class ProgressTracker {
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    private readonly inflightMessagesMax: number,
    private readonly inflightBytesMax: number,
  ) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.includes(id);
  }

  members(): NodeId[] {
    return [...this.voters, ...this.learners];
  }

  /** Replace the configuration; progress of members that stay is kept. */
  setConf(conf: ConfState, nextIndex: number): void {
    this.voters = [...conf.voters];
    this.learners = conf.learners.filter((id) => !conf.voters.includes(id));
    const members = new Set(this.members());
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      const existing = this.progress.get(id);
      if (existing) existing.isLearner = this.isLearner(id);
      else {
        const pr = new Progress(nextIndex, this.isLearner(id), this.inflightMessagesMax, this.inflightBytesMax);
        // A new member counts as active so check-quorum does not depose the leader right away.
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
  }

  resetProgress(nextIndex: number, selfId: NodeId, selfMatch: number): void {
    for (const [id, pr] of this.progress) {
      const fresh = new Progress(nextIndex, pr.isLearner, this.inflightMessagesMax, this.inflightBytesMax);
      if (id === selfId) fresh.match = selfMatch;
      this.progress.set(id, fresh);
    }
  }

  committed(): number {
    return committedIndex(this.voters.map((id) => this.progress.get(id)?.match ?? 0));
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return voteResult(this.voters, this.votes);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** True if a quorum of voters (counting `selfId`) has been recently active. */
  quorumActive(selfId: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === selfId || this.progress.get(id)?.recentActive) active++;
    }
    return active >= majority(this.voters.length);
  }

  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    let n = 0;
    for (const id of this.voters) if (acks.has(id)) n++;
    return n >= majority(this.voters.length);
  }
}
