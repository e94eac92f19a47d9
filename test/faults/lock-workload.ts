/**
 * The lock workload of a fault run: clients contend for one lock through etcd's Lock service
 * (v3lockpb) on random nodes, each under a short lease it keeps alive, and while holding it write a
 * shared resource key with fenced transactions: "if my lock key still exists, put". Then they unlock
 * (or, now and then, walk away and let the lease expire).
 *
 * The check is mutual exclusion as the store saw it: ordered by the revision each successful fenced
 * write committed at, the writes of one lock session (one lock key) must form one unbroken run. A
 * write by session B between two writes of session A means both held the lock at once. Wall-clock
 * overlap of the holders' own beliefs is reported but not judged: a holder paused past its TTL
 * still believes it holds the lock (etcd's documented caveat; fencing is the remedy).
 *
 * `brokenSkipLock` (the broken mode): clients skip Lock and fence on their own key, so sessions do
 * interleave; the check must catch that.
 */
import { Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { Random } from '../../src/common/random.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { unary } from './cluster.js';
import { callOptions, EtcdClients, grant, keepAliveOnce, putWithLease, revoke, sleep, type EtcdNodeClients } from './etcd-clients.js';

const LOCK_NAME = 'fault-lock';
const RESOURCE_KEY = 'fault-lock-resource';
/** How long one Lock call may wait for the lock (it waits for every earlier holder). */
const LOCK_WAIT_MS = 8_000;

export interface LockWorkloadOptions {
  readonly clients: number;
  readonly grpcAddrs: ReadonlyMap<number, string>;
  readonly credentials?: ChannelCredentials;
  readonly random: Random;
  readonly opTimeoutMs: number;
  readonly ttlSeconds: number;
  readonly brokenSkipLock?: boolean;
}

interface FencedWrite {
  readonly session: string;
  readonly revision: number;
  readonly client: number;
}

export interface LockReport {
  readonly acquisitions: number;
  readonly lockFailures: number;
  readonly fencedWrites: number;
  readonly fencedRefusals: number;
  /** Pairs of holders whose own beliefs overlapped in wall-clock time (not a violation, see above). */
  readonly beliefOverlaps: number;
  readonly violations: string[];
}

export class LockWorkload {
  readonly writes: FencedWrite[] = [];
  private readonly holds: { session: string; fromMs: number; toMs: number }[] = [];
  private readonly clients: EtcdClients;
  private acquisitions = 0;
  private lockFailures = 0;
  private refusals = 0;

  constructor(private readonly o: LockWorkloadOptions) {
    this.clients = new EtcdClients(o.grpcAddrs, o.credentials);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.client(c, signal)));
  }

  private node(): EtcdNodeClients {
    return this.clients.node(this.clients.ids[this.o.random.int(this.clients.ids.length)]!);
  }

  private async client(client: number, signal: AbortSignal): Promise<void> {
    for (let seq = 0; !signal.aborted; seq++) {
      let lease: number;
      try {
        lease = (await grant(this.node(), this.o.ttlSeconds, this.o.opTimeoutMs)).id;
      } catch {
        await sleep(100, signal);
        continue;
      }
      const beats = new AbortController();
      const beating = this.keepAlive(lease, beats.signal);
      try {
        const key = await this.acquire(client, seq, lease);
        if (key !== null) await this.hold(client, key, signal);
      } finally {
        beats.abort();
        await beating;
        // Walk away now and then: the lease (and the lock key with it) must expire on its own.
        if (this.o.random.float() < 0.8) await revoke(this.node(), lease, this.o.opTimeoutMs).catch(() => undefined);
      }
    }
  }

  private async acquire(client: number, seq: number, lease: number): Promise<Buffer | null> {
    if (this.o.brokenSkipLock === true) {
      const key = `${LOCK_NAME}/broken-c${client}-${seq}`;
      await putWithLease(this.node(), key, '', lease, this.o.opTimeoutMs).catch(() => undefined);
      return Buffer.from(key);
    }
    try {
      const res = await unary<{ key: Buffer }>((cb) => this.node().lock.lock({ name: Buffer.from(LOCK_NAME), lease }, new Metadata(), callOptions(LOCK_WAIT_MS), cb));
      this.acquisitions++;
      return res.key;
    } catch {
      this.lockFailures++;
      return null;
    }
  }

  /** 1-3 fenced writes, then unlock. */
  private async hold(client: number, key: Buffer, signal: AbortSignal): Promise<void> {
    const session = key.toString();
    const fromMs = performance.now();
    const n = 1 + this.o.random.int(3);
    for (let i = 0; i < n && !signal.aborted; i++) {
      try {
        const res = await unary<{ succeeded: boolean; header?: { revision: number } | undefined }>((cb) =>
          this.node().kv.txn(
            {
              compare: [{ key, rangeEnd: Buffer.alloc(0), result: Compare_CompareResult.Greater, target: Compare_CompareTarget.Create, targetUnion: { $case: 'createRevision', createRevision: 0 } }],
              success: [{ request: { $case: 'requestPut', requestPut: { key: Buffer.from(RESOURCE_KEY), value: Buffer.from(`${session}#${i}`), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } } }],
              failure: [],
            },
            new Metadata(), callOptions(this.o.opTimeoutMs), cb,
          ),
        );
        if (res.succeeded) this.writes.push({ session, revision: res.header?.revision ?? 0, client });
        else {
          this.refusals++;
          break;
        }
      } catch {
        // Unknown outcome: a fenced write either landed while the key existed or not at all.
      }
      await sleep(this.o.random.int(30), signal);
    }
    this.holds.push({ session, fromMs, toMs: performance.now() });
    if (this.o.brokenSkipLock === true) return;
    await unary((cb) => this.node().lock.unlock({ key }, new Metadata(), callOptions(this.o.opTimeoutMs), cb)).catch(() => undefined);
  }

  private async keepAlive(lease: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep((this.o.ttlSeconds * 1000) / 3, signal);
      if (signal.aborted) return;
      await keepAliveOnce(this.node(), lease, this.o.opTimeoutMs).catch(() => undefined);
    }
  }

  report(): LockReport {
    return {
      acquisitions: this.acquisitions,
      lockFailures: this.lockFailures,
      fencedWrites: this.writes.length,
      fencedRefusals: this.refusals,
      beliefOverlaps: countOverlaps(this.holds),
      violations: interleavings(this.writes),
    };
  }

  close(): void {
    this.clients.close();
  }
}

/** Sessions whose fenced writes, in revision order, are broken up by another session's. */
export function interleavings(writes: readonly FencedWrite[]): string[] {
  const ordered = [...writes].sort((a, b) => a.revision - b.revision);
  const ended = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < ordered.length; i++) {
    const w = ordered[i]!;
    const prev = ordered[i - 1];
    if (prev !== undefined && prev.session !== w.session) ended.add(prev.session);
    if (ended.has(w.session)) {
      out.push(`lock session ${w.session} wrote at revision ${w.revision} after another session's write at revision ${prev?.revision}: two holders at once`);
      if (out.length >= 10) break;
    }
  }
  return out;
}

function countOverlaps(holds: readonly { fromMs: number; toMs: number }[]): number {
  const sorted = [...holds].sort((a, b) => a.fromMs - b.fromMs);
  let n = 0;
  let maxEnd = -Infinity;
  for (const h of sorted) {
    if (h.fromMs < maxEnd) n++;
    maxEnd = Math.max(maxEnd, h.toMs);
  }
  return n;
}
