/**
 * The nemesis: a seeded schedule of fault episodes against a FaultCluster. Each episode picks one
 * enabled fault, sometimes combined with a second one of the other family (a process fault with a
 * network fault), holds it, heals it, and leaves a quiet gap so the cluster can make progress.
 * Every fault is recorded as a FaultInterval for the report and the timeline.
 */
import type { Random } from '../../src/common/random.js';
import type { FaultInterval } from './checker/index.js';
import type { FaultCluster } from './cluster.js';
import { waitUntil } from './cluster.js';
import { cutBetween } from './network.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'loss', 'membership', 'transfer'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const PROCESS_FAULTS: readonly FaultKind[] = ['kill', 'pause'];
const NETWORK_FAULTS: readonly FaultKind[] = ['partition', 'loss'];

export interface NemesisOptions {
  readonly faults: readonly FaultKind[];
  readonly random: Random;
  /** How long a fault is held: uniformly in [min, max]. */
  readonly holdMsMin: number;
  readonly holdMsMax: number;
  /** Healthy time between episodes. */
  readonly quietMs: number;
  /** Longer than the election timeout (SIGSTOP pauses must outlast it). */
  readonly electionTimeoutMs: number;
  readonly log?: (line: string) => void;
}

interface Active {
  readonly heal: () => Promise<void>;
  readonly record: { kind: string; startMs: number; nodes: string[]; note: string };
}

export class Nemesis {
  readonly faults: FaultInterval[] = [];
  readonly counts = new Map<string, number>();
  /** Faults that could not be injected or healed (a liveness problem worth reading). */
  readonly errors: string[] = [];

  constructor(
    private readonly cluster: FaultCluster,
    private readonly o: NemesisOptions,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    const r = this.o.random;
    while (!signal.aborted) {
      await sleep(this.o.quietMs, signal);
      if (signal.aborted) break;
      await this.cluster.healAll();
      const kinds = this.pickEpisode();
      if (kinds.length === 0) continue;
      const active: Active[] = [];
      try {
        for (const kind of kinds) {
          try {
            const a = await this.start(kind, signal);
            if (a) active.push(a);
          } catch (e) {
            if (signal.aborted) break;
            this.errors.push(`${kind}: ${(e as Error).message.split('\n')[0]}`);
            this.o.log?.(`fault ${kind} failed: ${(e as Error).message.split('\n')[0]}`);
          }
        }
        const holdMs = this.o.holdMsMin + r.int(this.o.holdMsMax - this.o.holdMsMin + 1);
        await sleep(holdMs, signal);
      } finally {
        for (const a of active.reverse()) {
          await a.heal();
          this.faults.push({ ...a.record, endMs: performance.now() });
        }
      }
    }
    await this.cluster.healAll();
  }

  private pickEpisode(): FaultKind[] {
    const r = this.o.random;
    const enabled = this.o.faults;
    if (enabled.length === 0) return [];
    const first = enabled[r.int(enabled.length)]!;
    const other = PROCESS_FAULTS.includes(first) ? NETWORK_FAULTS : NETWORK_FAULTS.includes(first) ? PROCESS_FAULTS : [];
    const second = other.filter((k) => enabled.includes(k));
    if (second.length > 0 && r.float() < 0.35) return [first, second[r.int(second.length)]!];
    return [first];
  }

  private note(kind: string, nodes: number[], note: string): Active['record'] {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.o.log?.(`fault ${kind} [${nodes.join(',')}] ${note}`);
    return { kind, startMs: performance.now(), nodes: nodes.map((n) => `n${n}`), note };
  }

  private pick(ids: readonly number[]): number {
    return ids[this.o.random.int(ids.length)]!;
  }

  private shuffle(ids: readonly number[]): number[] {
    const a = [...ids];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.o.random.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  private async start(kind: FaultKind, signal: AbortSignal): Promise<Active | null> {
    const c = this.cluster;
    const r = this.o.random;
    const ids = c.ids;
    switch (kind) {
      case 'kill': {
        const leader = await c.leaderId();
        const target = r.float() < 0.5 && leader !== 0 ? leader : this.pick(c.liveIds().length > 0 ? c.liveIds() : ids);
        // Half the time, ask for a snapshot first so the kill may land while it is being written.
        const duringSnapshot = r.float() < 0.5;
        if (duringSnapshot) {
          c.snapshotSoon(target);
          await sleep(r.int(40), signal);
        }
        await c.kill(target);
        const record = this.note('kill', [target], `SIGKILL${target === leader ? ' (leader)' : ''}${duringSnapshot ? ' during snapshot' : ''}`);
        return {
          record,
          heal: async () => {
            await c.restart(target);
            // Sometimes kill it again shortly after restart: it may be restoring a snapshot.
            if (r.float() < 0.3) {
              await sleep(r.int(300), new AbortController().signal);
              await c.kill(target);
              await c.restart(target);
              record.note += ', killed again during recovery';
            }
          },
        };
      }
      case 'pause': {
        const leader = await c.leaderId();
        const target = r.float() < 0.6 && leader !== 0 ? leader : this.pick(c.liveIds().length > 0 ? c.liveIds() : ids);
        c.pause(target);
        const record = this.note('pause', [target], `SIGSTOP${target === leader ? ' (leader)' : ''}, longer than the ${this.o.electionTimeoutMs} ms election timeout`);
        return { record, heal: async () => c.resume(target) };
      }
      case 'partition': {
        const leader = await c.leaderId();
        const roll = r.float();
        let desc: string;
        let affected: number[];
        if (roll < 0.35 && leader !== 0) {
          await cutBetween(c.net, [leader], ids.filter((x) => x !== leader));
          desc = 'leader isolated';
          affected = [leader];
        } else if (roll < 0.7) {
          const s = this.shuffle(ids);
          const half = s.slice(0, 1 + r.int(Math.floor(ids.length / 2)));
          await cutBetween(c.net, half, s.filter((x) => !half.includes(x)));
          desc = `halves {${half.join(',')}} | {${s.filter((x) => !half.includes(x)).join(',')}}`;
          affected = half;
        } else {
          // Majority ring (5 nodes: each sees its two neighbours) or bridge (3 nodes: one node sees both sides).
          const s = this.shuffle(ids);
          const n = s.length;
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              const d = Math.min((i - j + n) % n, (j - i + n) % n);
              if (i !== j && d > 1) await c.net.cut(s[i]!, s[j]!);
            }
          }
          if (n === 3) await cutBetween(c.net, [s[0]!], [s[2]!]);
          desc = n === 3 ? `bridge ${s[0]}-${s[1]}-${s[2]} (${s[1]} sees both)` : `ring ${s.join('-')}`;
          affected = s;
        }
        return { record: this.note('partition', affected, desc), heal: async () => c.net.heal() };
      }
      case 'loss': {
        const lossRate = 0.05 + r.float() * 0.25;
        const delayMs = r.int(60);
        const jitterMs = r.int(60);
        const applied = await c.net.degrade({ lossRate, delayMs, jitterMs });
        return { record: this.note('loss', ids, applied), heal: async () => c.net.heal() };
      }
      case 'membership': {
        const voters = await c.voters();
        if (voters.length !== ids.length) return null;
        const target = this.pick(ids);
        const record = this.note('membership', [target], 'remove, wipe, re-add');
        // Not aborted by the end of the run: a half-done membership change must not outlive it.
        await c.removeWipeReadd(target);
        return { record, heal: async () => {} };
      }
      case 'transfer': {
        const leader = await c.leaderId();
        const targets = ids.filter((x) => x !== leader);
        const target = this.pick(targets);
        const record = this.note('transfer', [target], `leadership ${leader} -> ${target}`);
        try {
          await c.transferLeadership(target);
          await waitUntil(async () => (await c.leaderId()) === target, 3_000, `leader ${target}`, signal);
        } catch (e) {
          record.note += ` (not confirmed: ${(e as Error).message.split('\n')[0]})`;
        }
        return { record, heal: async () => {} };
      }
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
