/**
 * Watches the raft configuration during a fault run on a gossip-formed cluster and records what must
 * never happen to a cluster whose members are alive (issue 10):
 *  - a voter is removed while its process is up (running or paused: a pause is not a death);
 *  - the configuration has fewer voters than the floor (autopilot's min quorum);
 *  - after the last fault heals, the full set of voters is not back within the recovery deadline.
 * Every live node's own view is sampled, so a removal shows up as soon as any member applies it.
 */
import { Suffrage } from '../../src/gen/raftkv/v1/cluster.js';
import type { FaultCluster } from './cluster.js';
import { sleep } from './nemesis.js';

/** How often every live node is asked for its configuration. */
const SAMPLE_INTERVAL_MS = 250;

export interface MembershipReport {
  readonly samples: number;
  readonly minVoters: number;
  readonly removals: string[];
  readonly violations: string[];
  /** From the final heal until every node was a voter again in the leader's view; null if never. */
  readonly votersBackMs: number | null;
}

export class MembershipMonitor {
  private samples = 0;
  private minVoters = Number.POSITIVE_INFINITY;
  private readonly removals: string[] = [];
  private readonly violations: string[] = [];
  /** The voters each node reported last, to see removals as they happen. */
  private readonly lastVoters = new Map<number, Set<number>>();
  private votersBackMs: number | null = null;
  private belowFloor = false;
  private readonly t0 = performance.now();

  constructor(
    private readonly cluster: FaultCluster,
    private readonly floor: number,
  ) {}

  /** Samples until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sample();
      await sleep(SAMPLE_INTERVAL_MS, signal);
    }
  }

  /** After the final heal: waits until every node is a voter in the leader's view, up to `deadlineMs`. */
  async awaitFullVoters(deadlineMs: number): Promise<void> {
    const start = performance.now();
    const want = this.cluster.ids.length;
    while (performance.now() - start < deadlineMs) {
      await this.sample();
      const leader = await this.cluster.leaderId();
      if (leader !== 0 && (this.lastVoters.get(leader)?.size ?? 0) === want) {
        this.votersBackMs = Math.round(performance.now() - start);
        return;
      }
      await sleep(SAMPLE_INTERVAL_MS, new AbortController().signal);
    }
    this.violations.push(`the ${want} voters were not back within ${deadlineMs} ms of the final heal`);
  }

  report(): MembershipReport {
    return {
      samples: this.samples, minVoters: Number.isFinite(this.minVoters) ? this.minVoters : 0,
      removals: [...this.removals], violations: [...this.violations], votersBackMs: this.votersBackMs,
    };
  }

  private async sample(): Promise<void> {
    const c = this.cluster;
    await Promise.all(c.liveIds().map(async (id) => {
      let voters: Set<number>;
      let leads: boolean;
      try {
        const m = await c.members(id);
        voters = new Set(m.members.filter((x) => x.suffrage === Suffrage.SUFFRAGE_VOTER).map((x) => x.id));
        leads = m.header?.leaderId === id;
      } catch {
        return; // an unreachable node tells nothing
      }
      this.samples++;
      this.check(id, voters, leads);
    }));
  }

  /**
   * The floor is judged on the leader's view only: a follower replaying its log (after a restart, or
   * behind at startup) passes through the bootstrap's early configurations, which is no shrink.
   * Removals are judged on every view: each applies the configuration entries in log order.
   */
  private check(reporter: number, voters: Set<number>, leads: boolean): void {
    const at = `${((performance.now() - this.t0) / 1000).toFixed(1)} s`;
    if (leads && voters.size < this.minVoters) this.minVoters = voters.size;
    // One violation per stretch below the floor, not one per sample.
    if (leads && voters.size < this.floor && !this.belowFloor) this.note(`${at}: leader ${reporter} has ${voters.size} voters [${[...voters].join(',')}], below the floor of ${this.floor}`);
    if (leads) this.belowFloor = voters.size < this.floor;
    const before = this.lastVoters.get(reporter);
    this.lastVoters.set(reporter, voters);
    if (before === undefined) return;
    for (const gone of before) {
      if (voters.has(gone)) continue;
      const n = this.cluster.node(gone);
      const up = n.proc !== null;
      this.removals.push(`${at}: node ${reporter} saw voter ${gone} removed (process ${up ? (n.paused ? 'paused' : 'running') : 'down'})`);
      if (up) this.note(`${at}: voter ${gone} removed while its process was ${n.paused ? 'paused' : 'running'} (seen by node ${reporter})`);
    }
  }

  private note(v: string): void {
    if (!this.violations.includes(v)) this.violations.push(v);
  }
}
