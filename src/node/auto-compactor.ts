import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { Timer, Timers } from '../common/timers.js';

/**
 * etcd's --auto-compaction-mode: `periodic` keeps `retention` milliseconds of history, `revision`
 * keeps the last `retention` revisions.
 */
export type AutoCompactionMode = 'periodic' | 'revision';

export interface AutoCompactionOptions {
  readonly mode: AutoCompactionMode;
  /** periodic: milliseconds of history to keep; revision: revisions to keep. */
  readonly retention: number;
  /** How often to look (default: periodic min(retention / 10, 1 h), as etcd; revision 5 min, as etcd). */
  readonly checkIntervalMs?: number;
}

/** What the compactor needs of the node and the store. */
export interface AutoCompactorPorts {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly isLeader: () => boolean;
  /** The store's current and compacted revisions. */
  readonly revisions: () => { readonly revision: number; readonly compactRevision: number };
  /** Proposes Compact(revision) through raft; resolves once applied. */
  readonly proposeCompact: (revision: number, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

const HOUR_MS = 3_600_000;
const REVISION_CHECK_INTERVAL_MS = 5 * 60_000;
/** Revision samples a periodic compactor keeps (one per check; retention / interval is about 10). */
export const SAMPLES_MAX = 64;
/** A compaction proposal that takes longer is abandoned; the next check proposes again. */
const PROPOSE_TIMEOUT_MS = 10_000;

export function checkIntervalMs(o: AutoCompactionOptions): number {
  if (o.checkIntervalMs !== undefined) return o.checkIntervalMs;
  return o.mode === 'revision' ? REVISION_CHECK_INTERVAL_MS : Math.max(1, Math.min(Math.floor(o.retention / 10), HOUR_MS));
}

/** A revision the store had at a time (periodic mode remembers these). */
export interface RevisionSample {
  readonly atMs: number;
  readonly revision: number;
}

/**
 * The revision to compact at, or null for none: periodic mode takes the newest sample at least
 * `retention` old (everything written since it is kept); revision mode keeps the last `retention`.
 * Never at or below what is already compacted (the store would refuse it).
 */
export function compactionTarget(o: AutoCompactionOptions, nowMs: number, current: { revision: number; compactRevision: number }, samples: readonly RevisionSample[]): number | null {
  let target = 0;
  if (o.mode === 'revision') target = current.revision - o.retention;
  else for (const s of samples) if (nowMs - s.atMs >= o.retention) target = Math.max(target, s.revision);
  return target > current.compactRevision && target <= current.revision ? target : null;
}

/**
 * etcd's auto-compaction: every node samples its revision on the check interval, and the leader
 * proposes a Compact when the retention allows one. Proposals go through raft like clients' Compact,
 * so every member compacts at the same revision.
 */
export class AutoCompactor {
  private readonly samples: RevisionSample[] = [];
  private readonly intervalMs: number;
  private readonly inFlight = new AbortController();
  private timer: Timer | null = null;
  private proposing = false;

  constructor(
    private readonly ports: AutoCompactorPorts,
    private readonly opts: AutoCompactionOptions,
  ) {
    this.intervalMs = checkIntervalMs(opts);
  }

  start(): void {
    this.check();
    this.timer ??= this.ports.timers.every(this.intervalMs, () => this.check(), { background: true });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.inFlight.abort();
  }

  /** One round: sample, and on the leader propose a compaction if one is due. */
  check(): void {
    const now = this.ports.clock.nowMs();
    const current = this.ports.revisions();
    if (this.opts.mode === 'periodic') {
      this.samples.push({ atMs: now, revision: current.revision });
      // Samples older than the newest one already past the retention are never needed again.
      while (this.samples.length > SAMPLES_MAX || (this.samples.length > 1 && now - this.samples[1]!.atMs >= this.opts.retention)) this.samples.shift();
    }
    if (!this.ports.isLeader() || this.proposing) return;
    const target = compactionTarget(this.opts, now, current, this.samples);
    if (target === null) return;
    this.proposing = true;
    const deadline = new AbortController();
    const timeout = this.ports.timers.after(PROPOSE_TIMEOUT_MS, () => deadline.abort(new Error('auto-compaction proposal timed out')), { background: true });
    const signal = AbortSignal.any([this.inFlight.signal, deadline.signal]);
    this.ports.proposeCompact(target, signal).then(
      () => this.ports.logger.info({ event: 'auto-compaction', revision: target, mode: this.opts.mode }, 'compacted the keyspace'),
      (e: unknown) => this.ports.logger.warn({ event: 'auto-compaction-failed', revision: target, err: e }, 'auto-compaction proposal failed; retrying at the next check'),
    ).finally(() => {
      timeout.cancel();
      this.proposing = false;
    });
  }
}
