import type { Logger } from 'pino';
import { systemClock, type Clock } from '../common/clock.js';
import type { MemberEvent, MemberView } from '../gossip/types.js';
import { memberStateName } from '../gossip/types.js';
import type { NodeId } from '../raft/types.js';
import { memberNodeId } from '../resolver/gossip-resolver.js';
import { AUTOPILOT_DEFAULTS, decide, updateHealthySince, type AutopilotAction, type AutopilotConfig, type AutopilotState, type GossipPeer, type OperatorHold, type PeerProgress } from './autopilot-decide.js';
import type { AppliedConfChange, RaftNode } from './raft-node.js';
import { ConfChangeType } from '../raft/types.js';

/** What autopilot needs of the gossip agent. */
export interface AutopilotGossip {
  members(): MemberView[];
  on(event: 'member', listener: (e: MemberEvent) => void): unknown;
  off(event: 'member', listener: (e: MemberEvent) => void): unknown;
}

export interface AutopilotOptions {
  readonly node: RaftNode;
  readonly gossip: AutopilotGossip;
  readonly logger: Logger;
  readonly config?: Partial<AutopilotConfig>;
  /** A peer heard from within this long counts as recently active. */
  readonly lastContactMaxMs: number;
  /** Reconcile at least this often (gossip events and leader changes also trigger it). */
  readonly reconcileIntervalMs?: number;
  /** One configuration change may take this long before it is abandoned (and retried later). */
  readonly changeTimeoutMs?: number;
  readonly clock?: Clock;
}

const RECONCILE_INTERVAL_MS_DEFAULT = 1_000;
const CHANGE_TIMEOUT_MS_DEFAULT = 10_000;

/**
 * Runs the membership rules of autopilot-decide.ts on the leader: on a timer and on every gossip
 * event, one configuration change at a time.
 */
export class Autopilot {
  readonly config: AutopilotConfig;
  private readonly clock: Clock;
  private healthySinceMs = new Map<NodeId, number>();
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly stopCtl = new AbortController();
  private leaving = false;
  /** When this node became leader; every leader change restarts the wait before removals. */
  private leaderSinceMs: number | null = null;
  /** Operators' changes this node applied while running (autopilot-decide.ts, "Operator hold"). */
  private readonly holds = new Map<NodeId, OperatorHold>();
  private readonly onEvent = (e: MemberEvent): void => {
    // A member the operator removed that then stops (dies or leaves) may come back later: a restart
    // is a rejoin, which ends the hold. Alive-state changes (suspect, then alive) do not.
    const id = e.kind === 'dead' || e.kind === 'left' ? memberNodeId(e.member) : null;
    if (id !== null && this.holds.get(id)?.kind === 'removed') {
      this.holds.delete(id);
      this.o.logger.info({ member: id, gossip: e.kind }, 'autopilot: a member the operator removed left gossip; it may join again');
    }
    this.reconcile();
  };
  private readonly onConfChange = (c: AppliedConfChange): void => {
    if (c.operator) {
      const hold: OperatorHold = { kind: c.type === ConfChangeType.RemoveNode ? 'removed' : 'added', sinceMs: this.clock.nowMs() };
      this.holds.set(c.nodeId, hold);
      this.o.logger.info({ member: c.nodeId, hold: hold.kind, holdMs: this.config.operatorHoldMs }, 'autopilot: an operator changed this member; leaving it alone for the hold');
    } else {
      this.holds.delete(c.nodeId);
    }
  };
  private readonly onLeader = (): void => {
    this.healthySinceMs.clear();
    this.leaderSinceMs = null;
    this.reconcile();
  };

  constructor(private readonly o: AutopilotOptions) {
    this.config = { ...AUTOPILOT_DEFAULTS, ...o.config };
    this.clock = o.clock ?? systemClock;
  }

  start(): void {
    this.o.gossip.on('member', this.onEvent);
    this.o.node.on('leader-change', this.onLeader);
    this.o.node.on('conf-change', this.onConfChange);
    this.timer = setInterval(() => this.reconcile(), this.o.reconcileIntervalMs ?? RECONCILE_INTERVAL_MS_DEFAULT);
    this.timer.unref();
  }

  /** No more changes (the node is shutting down); waits for the one in flight to settle. */
  async stop(): Promise<void> {
    this.leaving = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.o.gossip.off('member', this.onEvent);
    this.o.node.off('leader-change', this.onLeader);
    this.o.node.off('conf-change', this.onConfChange);
    this.stopCtl.abort();
    await this.inFlight;
  }

  /** The current inputs of decide(); exposed for logs and tests. */
  state(): AutopilotState {
    const stats = this.o.node.stats();
    const raft = stats.raft;
    const nowMs = this.clock.nowMs();
    const progress = new Map<NodeId, PeerProgress>();
    for (const [id, pr] of raft.progress) {
      const contactMs = stats.lastContactMs.get(id) ?? null;
      progress.set(id, { match: pr.match, recentlyActive: contactMs !== null && contactMs <= this.o.lastContactMaxMs, lastContactMs: contactMs });
    }
    const gossip = new Map<NodeId, GossipPeer>();
    for (const m of this.o.gossip.members()) {
      const id = memberNodeId(m);
      if (id !== null) gossip.set(id, { state: memberStateName(m.state), raftAddr: m.meta!.raftAddr, sinceMs: m.stateChangeMs });
    }
    const isLeader = this.o.node.isLeader();
    if (!isLeader) this.leaderSinceMs = null;
    else this.leaderSinceMs ??= nowMs;
    for (const [id, h] of this.holds) if (nowMs - h.sinceMs >= this.config.operatorHoldMs) this.holds.delete(id);
    const base = { operatorHolds: new Map(this.holds), selfId: this.o.node.id, isLeader, leaderSinceMs: this.leaderSinceMs, leaving: this.leaving, changeInFlight: this.inFlight !== null, nowMs, voters: raft.conf.voters, learners: raft.conf.learners, lastIndex: raft.lastIndex, progress, gossip };
    this.healthySinceMs = updateHealthySince({ ...base, healthySinceMs: this.healthySinceMs }, this.config);
    return { ...base, healthySinceMs: this.healthySinceMs };
  }

  private reconcile(): void {
    if (this.leaving || this.inFlight !== null) return;
    let action: AutopilotAction;
    try {
      if (!this.o.node.isLeader()) {
        this.healthySinceMs.clear();
        this.leaderSinceMs = null;
        return;
      }
      action = decide(this.state(), this.config);
    } catch (err) {
      this.o.logger.warn({ err }, 'autopilot could not read the cluster state');
      return;
    }
    if (action.kind === 'none') return;
    this.inFlight = this.execute(action).then((ok) => {
      this.inFlight = null;
      // The next change may already be due (the second of two promotions); after a failure, the timer retries.
      if (ok && !this.leaving) setImmediate(() => this.reconcile());
    });
  }

  private async execute(a: Exclude<AutopilotAction, { kind: 'none' }>): Promise<boolean> {
    const signal = AbortSignal.any([this.stopCtl.signal, AbortSignal.timeout(this.o.changeTimeoutMs ?? CHANGE_TIMEOUT_MS_DEFAULT)]);
    const node = this.o.node;
    this.o.logger.info({ action: a }, 'autopilot: changing the configuration');
    try {
      if (a.kind === 'add-nonvoter') await node.addNonvoter(a.id, a.raftAddr, { signal });
      else if (a.kind === 'promote') await node.addVoter(a.id, a.raftAddr, { signal });
      else await node.removeServer(a.id, { signal });
      return true;
    } catch (err) {
      this.o.logger.info({ action: a, err }, 'autopilot: configuration change did not complete; will retry');
      return false;
    }
  }
}
