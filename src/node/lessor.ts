import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import type { Timer, Timers } from '../common/timers.js';
import { NotLeaderError } from '../common/errors.js';
import type { LeaseChange, LeaseRecord } from '../kv/index.js';
import { LeaseSchedule, minLeaseTtlSeconds } from './lease-schedule.js';

/** What the lessor needs of the node and the store; a RaftNode and a KvStore provide it. */
export interface LessorPorts {
  readonly clock: Clock;
  /** The check interval and the revocation deadlines run on these (virtual ones in the simulation). */
  readonly timers: Timers;
  readonly leases: () => readonly LeaseRecord[];
  readonly onLeaseChange: (listener: (change: LeaseChange) => void) => () => void;
  readonly isLeader: () => boolean;
  /** Called on every leader change; returns unsubscribe. */
  readonly onLeaderChange: (listener: () => void) => () => void;
  /** Proposes the revocation through raft; resolves once applied (or rejected as unknown). */
  readonly proposeRevoke: (id: number, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

export interface LessorOptions {
  readonly tickMs: number;
  readonly electionTicks: number;
  /** How often the leader looks for expired leases (etcd: 500 ms). */
  readonly checkIntervalMs?: number;
  /** An expired lease whose revocation was not applied is proposed again after this (etcd: 3 s). */
  readonly revokeRetryMs?: number;
  /** Revocations proposed per check at most (etcd: 1000 per second, at 500 ms per check). */
  readonly revokesPerCheckMax?: number;
}

const CHECK_INTERVAL_MS_DEFAULT = 500;
const REVOKE_RETRY_MS_DEFAULT = 3_000;
const REVOKES_PER_CHECK_MAX_DEFAULT = 500;
/** A revocation proposal that takes longer is abandoned; the retry proposes it again. */
const REVOKE_TIMEOUT_MS = 5_000;

/**
 * The lease timer (etcd's lessor): the state machine holds the leases, this decides when they end.
 * Only the leader times them; it expires a lease by proposing its revocation through raft, so the
 * deletion of its keys is replicated like any write. A node that becomes leader gives every lease its
 * TTL plus an election timeout. Keep-alives renew here, on the leader, without raft.
 *
 * Time comes from the Clock and Timers ports; `check()` does one round and `start()` calls it on an
 * interval, so the simulation runs the lessor on each node's drifting virtual clock.
 */
export class Lessor {
  readonly minTtlSeconds: number;
  private readonly schedule: LeaseSchedule;
  private readonly extendMs: number;
  private readonly checkIntervalMs: number;
  private readonly revokesPerCheckMax: number;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly inFlight = new AbortController();
  private timer: Timer | null = null;

  constructor(
    private readonly ports: LessorPorts,
    opts: LessorOptions,
  ) {
    this.minTtlSeconds = minLeaseTtlSeconds(opts.tickMs, opts.electionTicks);
    this.extendMs = opts.tickMs * opts.electionTicks;
    this.checkIntervalMs = opts.checkIntervalMs ?? CHECK_INTERVAL_MS_DEFAULT;
    this.revokesPerCheckMax = opts.revokesPerCheckMax ?? REVOKES_PER_CHECK_MAX_DEFAULT;
    this.schedule = new LeaseSchedule({ revokeRetryMs: opts.revokeRetryMs ?? REVOKE_RETRY_MS_DEFAULT });
    this.schedule.reset(ports.leases(), ports.clock.nowMs());
    this.unsubscribe.push(ports.onLeaseChange((c) => this.onChange(c)));
    this.unsubscribe.push(ports.onLeaderChange(() => this.syncRole()));
    this.syncRole();
  }

  start(): void {
    this.timer ??= this.ports.timers.every(this.checkIntervalMs, () => this.check(), { background: true });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    for (const u of this.unsubscribe.splice(0)) u();
    this.inFlight.abort();
  }

  /** One round: follow the node's role, then propose the revocation of expired leases. */
  check(): void {
    this.syncRole();
    if (!this.schedule.isPrimary) return;
    for (const id of this.schedule.due(this.ports.clock.nowMs(), this.revokesPerCheckMax)) this.revoke(id);
  }

  /** A keep-alive: the lease's TTL in seconds, or null if it is unknown or expired. Leader only. */
  renew(id: number): number | null {
    this.requirePrimary();
    return this.schedule.renew(id, this.ports.clock.nowMs());
  }

  /** Remaining and granted TTL in seconds (etcd truncates the remaining one), or null if unknown. Leader only. */
  timeToLive(id: number): { remainingSeconds: number; grantedSeconds: number } | null {
    this.requirePrimary();
    const ms = this.schedule.remainingMs(id, this.ports.clock.nowMs());
    const granted = this.schedule.ttlSeconds(id);
    if (ms === null || granted === null) return null;
    return { remainingSeconds: Math.floor(ms / 1000), grantedSeconds: granted };
  }

  /** Lease ids, soonest expiry first. */
  list(): number[] {
    return this.schedule.list();
  }

  private requirePrimary(): void {
    this.syncRole();
    if (!this.schedule.isPrimary) throw new NotLeaderError(0);
  }

  private syncRole(): void {
    const leader = this.ports.isLeader();
    if (leader === this.schedule.isPrimary) return;
    if (leader) this.schedule.promote(this.ports.clock.nowMs(), this.extendMs);
    else this.schedule.demote();
  }

  private onChange(c: LeaseChange): void {
    const now = this.ports.clock.nowMs();
    if (c.kind === 'granted') this.schedule.add(c.lease.id, c.lease.ttlSeconds, now);
    else if (c.kind === 'revoked') this.schedule.remove(c.id);
    else {
      this.schedule.reset(c.leases, now);
      if (this.schedule.isPrimary) this.schedule.promote(now, this.extendMs);
    }
  }

  private revoke(id: number): void {
    const deadline = new AbortController();
    const timer = this.ports.timers.after(REVOKE_TIMEOUT_MS, () => deadline.abort(new Error(`lease revocation not applied within ${REVOKE_TIMEOUT_MS} ms`)), { background: true });
    const signal = AbortSignal.any([this.inFlight.signal, deadline.signal]);
    this.ports.proposeRevoke(id, signal)
      .catch((err: unknown) => {
        // The schedule proposes it again after revokeRetryMs if the lease is still there.
        if (!this.inFlight.signal.aborted) this.ports.logger.warn({ err, lease: id.toString(16) }, 'lease revocation failed; will retry');
      })
      .finally(() => timer.cancel());
  }
}
