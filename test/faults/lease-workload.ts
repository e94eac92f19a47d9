/**
 * The lease workload of a fault run: clients grant short leases through random nodes, attach a key to
 * each, keep some alive for a while with keep-alive beats, revoke some and abandon others, and read
 * the keys (linearizable) all along. Three properties are checked against the record:
 *
 *  - never early: a key whose put was acknowledged is never read as gone before the lease's TTL has
 *    run from the send time of the last acknowledged grant or keep-alive (the leader's deadline is at
 *    least that: it starts the TTL on receipt, and a new leader restarts every TTL in full); nor does a
 *    beat answer "lease gone" before then. Reads that complete within EARLY_MARGIN_MS of the bound
 *    are not judged (two processes' clocks and timer granularity);
 *  - revoke deletes: a read that starts after an acknowledged revoke never sees the key;
 *  - abandoned leases expire: after the heal, every key is gone within EXPIRY_DEADLINE_MS (the
 *    leader alone expires leases, so expiry needs a leader and then at most one TTL).
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Random } from '../../src/common/random.js';
import { EtcdClients, exists, grant, keepAliveOnce, putWithLease, revoke, sleep } from './etcd-clients.js';

/** Reads that complete this close to the earliest allowed expiry are not judged. */
const EARLY_MARGIN_MS = 50;
/** After the heal, every lease key must be gone within this long. */
export const EXPIRY_DEADLINE_MS = 30_000;
/** How many leases one client works through at most (bounds the record). */
const LEASES_PER_CLIENT_MAX = 2_000;

export interface LeaseWorkloadOptions {
  readonly clients: number;
  readonly grpcAddrs: ReadonlyMap<number, string>;
  readonly credentials?: ChannelCredentials;
  readonly random: Random;
  readonly opTimeoutMs: number;
  /** TTL asked for; the server may raise it to its minimum (the granted TTL is what counts). */
  readonly ttlSeconds: number;
}

export interface LeaseRecord {
  readonly client: number;
  readonly key: string;
  id: number;
  ttlMs: number;
  /** Send times of acknowledged grant and keep-alive requests with a TTL > 0. */
  readonly aliveSendsMs: number[];
  putAckedMs: number | null;
  revokeSentMs: number | null;
  revokeAckedMs: number | null;
  readonly reads: { invokeMs: number; completeMs: number; present: boolean; node: number }[];
  /** Beats answered "gone" (TTL 0): when they were sent and answered. */
  readonly goneBeats: { sendMs: number; completeMs: number }[];
}

export interface LeaseReport {
  readonly leases: number;
  readonly keepAlives: number;
  readonly reads: number;
  readonly revoked: number;
  readonly expiredAfterHealMs: number | null;
  readonly violations: string[];
}

export class LeaseWorkload {
  readonly records: LeaseRecord[] = [];
  private readonly clients: EtcdClients;
  private keepAlives = 0;

  constructor(private readonly o: LeaseWorkloadOptions) {
    this.clients = new EtcdClients(o.grpcAddrs, o.credentials);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.client(c, signal)));
  }

  private pick(): number {
    return this.clients.ids[this.o.random.int(this.clients.ids.length)]!;
  }

  private async client(client: number, signal: AbortSignal): Promise<void> {
    for (let seq = 0; seq < LEASES_PER_CLIENT_MAX && !signal.aborted; seq++) {
      const r: LeaseRecord = {
        client, key: `lease-c${client}-${seq}`, id: 0, ttlMs: 0, aliveSendsMs: [], putAckedMs: null, revokeSentMs: null, revokeAckedMs: null, reads: [], goneBeats: [],
      };
      const sendMs = performance.now();
      try {
        const g = await grant(this.clients.node(this.pick()), this.o.ttlSeconds, this.o.opTimeoutMs);
        r.id = g.id;
        r.ttlMs = g.ttlSeconds * 1000;
        r.aliveSendsMs.push(sendMs);
      } catch {
        await sleep(100, signal);
        continue;
      }
      this.records.push(r);
      try {
        await putWithLease(this.clients.node(this.pick()), r.key, `c${client}-${seq}`, r.id, this.o.opTimeoutMs);
        r.putAckedMs = performance.now();
      } catch {
        // Unknown: the key may exist or not; it is still bound to the lease and must expire with it.
      }
      await this.keepAndRead(r, signal);
      if (this.o.random.float() < 0.3 && !signal.aborted) await this.revoke(r);
      await this.read(r);
    }
  }

  /** Keeps the lease alive for 0-3 TTLs with beats at a third of the TTL, reading the key between beats. */
  private async keepAndRead(r: LeaseRecord, signal: AbortSignal): Promise<void> {
    const keepUntil = performance.now() + this.o.random.float() * 3 * r.ttlMs;
    while (!signal.aborted && performance.now() < keepUntil) {
      await sleep(r.ttlMs / 3, signal);
      if (signal.aborted) break;
      const sendMs = performance.now();
      try {
        const ttl = await keepAliveOnce(this.clients.node(this.pick()), r.id, this.o.opTimeoutMs);
        this.keepAlives++;
        if (ttl > 0) r.aliveSendsMs.push(sendMs);
        else {
          r.goneBeats.push({ sendMs, completeMs: performance.now() });
          return;
        }
      } catch {
        // A lost beat: the lease may run out; that is allowed.
      }
      await this.read(r);
    }
  }

  private async revoke(r: LeaseRecord): Promise<void> {
    r.revokeSentMs = performance.now();
    try {
      await revoke(this.clients.node(this.pick()), r.id, this.o.opTimeoutMs);
      r.revokeAckedMs = performance.now();
    } catch {
      // Unknown outcome: the lease is gone now or expires later.
    }
  }

  private async read(r: LeaseRecord): Promise<void> {
    const node = this.pick();
    const invokeMs = performance.now();
    try {
      const present = await exists(this.clients.node(node), r.key, this.o.opTimeoutMs);
      r.reads.push({ invokeMs, completeMs: performance.now(), present, node });
    } catch {
      // A failed read says nothing.
    }
  }

  /** After the heal: waits until every lease key is gone; returns how long it took, or null. */
  async awaitAllExpired(): Promise<number | null> {
    const t0 = performance.now();
    const pending = new Set(this.records.map((r) => r.key));
    while (pending.size > 0 && performance.now() - t0 < EXPIRY_DEADLINE_MS) {
      for (const key of [...pending]) {
        try {
          if (!(await exists(this.clients.node(this.pick()), key, this.o.opTimeoutMs))) pending.delete(key);
        } catch {
          // try again
        }
      }
      if (pending.size > 0) await sleep(200);
    }
    this.stillPresent = [...pending];
    return pending.size === 0 ? Math.round(performance.now() - t0) : null;
  }

  private stillPresent: string[] = [];

  report(expiredAfterHealMs: number | null): LeaseReport {
    const violations: string[] = [];
    for (const r of this.records) violations.push(...judge(r));
    for (const key of this.stillPresent.slice(0, 10)) violations.push(`${key} still present ${EXPIRY_DEADLINE_MS} ms after the heal: its lease never expired`);
    return {
      leases: this.records.length,
      keepAlives: this.keepAlives,
      reads: this.records.reduce((n, r) => n + r.reads.length, 0),
      revoked: this.records.filter((r) => r.revokeAckedMs !== null).length,
      expiredAfterHealMs,
      violations,
    };
  }

  close(): void {
    this.clients.close();
  }
}

/**
 * How strictly `judge` reads the clock: a lease may end no sooner than `ttlScale` x its TTL after the
 * last acknowledged grant or beat was sent, less `marginMs`. Real processes on one machine share a
 * clock (scale 1, a small margin for timer granularity); the simulation's clocks drift by up to a
 * known rate, so a TTL there may last only TTL / (1 + drift) of true time.
 */
export interface JudgeBounds {
  readonly ttlScale: number;
  readonly marginMs: number;
}

const REAL_CLOCK: JudgeBounds = { ttlScale: 1, marginMs: EARLY_MARGIN_MS };

/** The violations one lease's record shows (see the file comment). */
export function judge(r: LeaseRecord, bounds: JudgeBounds = REAL_CLOCK): string[] {
  const out: string[] = [];
  const endsNoSoonerThan = (aliveMs: number): number => aliveMs + r.ttlMs * bounds.ttlScale - bounds.marginMs;
  const lastAliveBefore = (t: number): number | null => {
    let last: number | null = null;
    for (const s of r.aliveSendsMs) if (s < t && (last === null || s > last)) last = s;
    return last;
  };
  const revokedBefore = (t: number): boolean => r.revokeSentMs !== null && r.revokeSentMs < t;
  for (const read of r.reads) {
    if (!read.present && r.putAckedMs !== null && r.putAckedMs < read.invokeMs && !revokedBefore(read.completeMs)) {
      const alive = lastAliveBefore(read.completeMs);
      if (alive !== null && read.completeMs < endsNoSoonerThan(alive)) {
        out.push(`${r.key} (lease ${r.id}, TTL ${r.ttlMs} ms) read as gone through node ${read.node} ${Math.round(alive + r.ttlMs - read.completeMs)} ms before its TTL ran out`);
      }
    }
    if (read.present && r.revokeAckedMs !== null && read.invokeMs > r.revokeAckedMs) {
      out.push(`${r.key} (lease ${r.id}) read as present through node ${read.node} ${Math.round(read.invokeMs - r.revokeAckedMs)} ms after its revoke was acknowledged`);
    }
  }
  for (const beat of r.goneBeats) {
    const alive = lastAliveBefore(beat.sendMs);
    if (alive !== null && !revokedBefore(beat.completeMs) && beat.completeMs < endsNoSoonerThan(alive)) {
      out.push(`lease ${r.id} (TTL ${r.ttlMs} ms) answered gone to a keep-alive ${Math.round(alive + r.ttlMs - beat.completeMs)} ms before its TTL ran out`);
    }
  }
  return out;
}
