import { isRaftkvError } from '../../../src/common/errors.js';
import type { SeededRandom } from '../../../src/common/random.js';
import { judge, type LeaseRecord } from '../../faults/lease-workload.js';
import { DRIFT_MAX, type SimHost } from './host.js';
import type { CommandResult } from '../../../src/kv/types.js';
import { encodeKvCommand, resultOk, type KvCommand } from './kv-machine.js';
import type { VirtualScheduler } from './scheduler.js';

/** A client gives up on a request after this long (virtual ms). */
const REQUEST_TIMEOUT_MS = 600;
/** TTLs the clients ask for, in seconds (short: several leases end within one seed). */
const TTL_SECONDS = [1, 2] as const;
/** A holder that walked away reads its key every this many to twice as many virtual ms... */
const WALK_AWAY_READ_MS_MIN = 40;
/** ...until this long after its TTL (with the clocks' drift) has certainly run out. */
const READ_AFTER_TTL_MS = 300;

export interface LeaseClientEnv {
  readonly sched: VirtualScheduler;
  readonly hosts: () => SimHost[];
  readonly rng: SeededRandom;
  readonly onEvent: (text: string) => void;
  /** An error no client should ever see (not a RaftkvError): the world records a violation. */
  readonly onError: (err: unknown) => void;
}

/**
 * Simulated lease holders on the production Lessor (host.ts): each grants a lease through the
 * leader, attaches a key, keeps the lease alive for up to three TTLs with beats to whichever node
 * believes it leads (a deposed leader too, as a client that has not heard of the change would), then
 * revokes it or walks away; it reads the key through a read fence between beats. Checked with the
 * fault harness's lease judge, on true (virtual) time with the clocks' drift allowed for.
 */
export class SimLeaseClients {
  readonly records: LeaseRecord[] = [];
  readonly counts = { leases: 0, beats: 0, goneBeats: 0, reads: 0, revoked: 0 };
  private nextLease = 1;
  private stopped = false;

  constructor(private readonly env: LeaseClientEnv) {}

  start(clients: number): void {
    for (let c = 1; c <= clients; c++) {
      void this.loop(c).catch((e: unknown) => this.env.onError(e));
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Never early, revoke deletes: the lease judge on every record. */
  violations(): string[] {
    const bounds = { ttlScale: 1 / (1 + DRIFT_MAX), marginMs: 0 };
    return this.records.flatMap((r) => judge(r, bounds)).map((v) => `lease: ${v}`);
  }

  private async loop(client: number): Promise<void> {
    while (!this.stopped) {
      await this.env.sched.sleep(10 + this.env.rng.int(50));
      if (this.stopped) return;
      await this.oneLease(client);
    }
  }

  private async oneLease(client: number): Promise<void> {
    const { rng, sched } = this.env;
    const id = this.nextLease++;
    const ttlSeconds = TTL_SECONDS[rng.int(TTL_SECONDS.length)]!;
    const r: LeaseRecord = {
      client, key: `L${id}`, id, ttlMs: ttlSeconds * 1000, aliveSendsMs: [], putAckedMs: null, revokeSentMs: null, revokeAckedMs: null, reads: [], goneBeats: [],
    };
    const sendMs = sched.nowMs;
    if ((await this.propose({ op: 'grant', id, ttlSeconds })) !== true) return;
    r.aliveSendsMs.push(sendMs);
    this.records.push(r);
    this.counts.leases++;
    this.env.onEvent(`l${client} granted lease ${id} (TTL ${ttlSeconds} s, sent at ${sendMs})`);
    if ((await this.propose({ op: 'put', key: r.key, value: `c${client}`, lease: id })) === true) r.putAckedMs = sched.nowMs;
    const keepUntil = sched.nowMs + rng.float() * 3 * r.ttlMs;
    while (!this.stopped && sched.nowMs < keepUntil) {
      await sched.sleep(r.ttlMs / 3);
      if (!this.beat(r)) break;
      await this.read(r);
    }
    if (!this.stopped && rng.chance(0.3)) {
      r.revokeSentMs = sched.nowMs;
      if ((await this.propose({ op: 'revoke', id })) !== null) {
        r.revokeAckedMs = sched.nowMs;
        this.counts.revoked++;
      }
      await this.read(r);
      return;
    }
    await this.watchItEnd(r);
  }

  /**
   * The holder walked away: read the key now and then until it is gone or well past its TTL, so an
   * expiry earlier than the last keep-alive allows (the bug a stale leader's renewal would cause) is seen.
   */
  private async watchItEnd(r: LeaseRecord): Promise<void> {
    const { rng, sched } = this.env;
    const until = sched.nowMs + r.ttlMs * (1 + 2 * DRIFT_MAX) + READ_AFTER_TTL_MS;
    while (!this.stopped && sched.nowMs < until) {
      if ((await this.read(r)) === false) return;
      await sched.sleep(WALK_AWAY_READ_MS_MIN + rng.int(WALK_AWAY_READ_MS_MIN));
    }
  }

  /** One keep-alive on a node that believes it leads; false once the lease is gone. */
  private beat(r: LeaseRecord): boolean {
    const leaders = this.env.hosts().filter((h) => h.serving && h.lessor !== null && h.driver!.isLeader());
    const h = leaders[this.env.rng.int(leaders.length)];
    if (h === undefined) return true;
    const sendMs = this.env.sched.nowMs;
    let ttl: number | null;
    try {
      ttl = h.lessor!.renew(r.id);
    } catch (e) {
      if (!isRaftkvError(e)) throw e;
      return true;
    }
    this.counts.beats++;
    if (ttl !== null) {
      r.aliveSendsMs.push(sendMs);
      return true;
    }
    this.counts.goneBeats++;
    r.goneBeats.push({ sendMs, completeMs: sendMs });
    this.env.onEvent(`l${r.client} beat for lease ${r.id} on n${h.id}: gone`);
    return false;
  }

  /** A linearizable read of the lease's key on a random node: whether it is present, or null if the read failed. */
  private async read(r: LeaseRecord): Promise<boolean | null> {
    const up = this.env.hosts().filter((h) => h.serving);
    const h = up[this.env.rng.int(up.length)];
    if (h === undefined) return null;
    const invokeMs = this.env.sched.nowMs;
    try {
      await h.driver!.readIndex(this.deadline());
    } catch (e) {
      if (!isRaftkvError(e)) throw e;
      return null;
    }
    const inc = h.inc;
    const kv = h.kv;
    if (kv === null) return null;
    const value = await kv.get(r.key);
    if (h.inc !== inc) return null; // the node died before the read answered
    r.reads.push({ invokeMs, completeMs: this.env.sched.nowMs, present: value !== null, node: h.id });
    this.counts.reads++;
    return value !== null;
  }

  /** Through a node that believes it leads: the command's `ok`, or null when the outcome is unknown or refused. */
  private async propose(cmd: KvCommand): Promise<boolean | null> {
    const leaders = this.env.hosts().filter((h) => h.serving && h.driver!.isLeader());
    const h = leaders[this.env.rng.int(leaders.length)];
    if (h === undefined) return null;
    try {
      const { result } = await h.driver!.propose(encodeKvCommand(cmd), this.deadline());
      return resultOk(result as CommandResult);
    } catch (e) {
      if (!isRaftkvError(e)) throw e;
      return null;
    }
  }

  private deadline(): AbortSignal {
    const ac = new AbortController();
    this.env.sched.schedule(REQUEST_TIMEOUT_MS, () => ac.abort(new Error('client deadline')));
    return ac.signal;
  }
}
