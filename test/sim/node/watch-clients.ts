import { isRaftkvError } from '../../../src/common/errors.js';
import type { SeededRandom } from '../../../src/common/random.js';
import { WatchCompactedError, type WatchEvent } from '../../../src/kv/index.js';
import type { SimHost } from './host.js';
import type { VirtualScheduler } from './scheduler.js';

/** A watch stream lives this long at most (virtual ms), then the client watches again elsewhere. */
const STREAM_MS_MAX = 1_500;
/** How often a client looks whether the node it watches is still the process it opened the watch on. */
const WATCHDOG_MS = 50;

export interface WatchClientEnv {
  readonly sched: VirtualScheduler;
  readonly hosts: () => SimHost[];
  readonly rng: SeededRandom;
  readonly onEvent: (text: string) => void;
  readonly onViolation: (text: string) => void;
  /** Broken mode: watches on this node lose every revision divisible by 11 (the order check must see it). */
  readonly skipRevisionOn?: number | undefined;
}

/** One revision's events, as text: equal on every replica that delivers them. */
function digest(events: readonly WatchEvent[]): string {
  const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  return events.map((e) => `${e.type}:${text(e.kv.key)}=${text(e.kv.value)}@${e.kv.createRevision}/${e.kv.version}/${e.kv.lease ?? 0}<${e.prevModRevision}`).join(';');
}

/**
 * Watchers on the whole keyspace through the production KvStore's watch (what the Watch handler
 * calls), each on a random node, reopened after a crash, a compaction or a while at the revision it
 * stopped at. Every revision bumps the keyspace with at least one event, so one stream must deliver
 * exactly its start revision, then every next revision once, in order; and every stream that
 * delivers a revision, on any node, must deliver the same events for it.
 */
export class SimWatchClients {
  readonly counts = { streams: 0, revisions: 0, compacted: 0 };
  /** Revision -> its events' digest, from the first stream that delivered it whole. */
  private readonly canonical = new Map<number, { digest: string; node: number }>();
  private stopped = false;

  constructor(private readonly env: WatchClientEnv) {}

  start(clients: number): void {
    for (let c = 1; c <= clients; c++) void this.loop(c).catch((e: unknown) => this.env.onViolation(`watch client ${c} failed: ${String(e)}`));
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(client: number): Promise<void> {
    let next = 1;
    while (!this.stopped) {
      await this.env.sched.sleep(10 + this.env.rng.int(100));
      const up = this.env.hosts().filter((h) => h.serving);
      const host = up[this.env.rng.int(up.length)];
      // Now and then from an older revision: the history on disk, and compaction, are read too.
      const start = this.env.rng.chance(0.2) ? 1 + this.env.rng.int(next) : next;
      if (host !== undefined) next = Math.max(next, await this.stream(client, host, start));
    }
  }

  /** One watch stream from `start`; returns where the next one starts. */
  private async stream(client: number, host: SimHost, start: number): Promise<number> {
    const { sched, rng } = this.env;
    const inc = host.inc;
    const store = host.kv!.store;
    const ac = new AbortController();
    const endMs = sched.nowMs + 100 + rng.int(STREAM_MS_MAX);
    const watchdog = (): void => {
      if (this.stopped || host.inc !== inc || sched.nowMs >= endMs) ac.abort(new Error('stream over'));
      else sched.schedule(WATCHDOG_MS, watchdog);
    };
    watchdog();
    const check = new StreamCheck(start, (rev, d) => this.agree(host.id, rev, d), (text) => this.env.onViolation(`watch c${client} on n${host.id} from ${start}: ${text}`));
    this.counts.streams++;
    try {
      for await (const events of store.watch({ prefix: new Uint8Array(0), startRevision: start, signal: ac.signal })) {
        if (host.inc !== inc) break; // a dead process answers nothing
        check.take(host.id === this.env.skipRevisionOn ? events.filter((e) => e.kv.modRevision % 11 !== 0) : events);
      }
    } catch (e) {
      if (e instanceof WatchCompactedError) {
        this.counts.compacted++;
        this.env.onEvent(`w${client} watch on n${host.id} from ${start}: compacted at ${e.compactRevision}`);
        return Math.max(start, e.compactRevision);
      }
      if (!isRaftkvError(e)) throw e;
    } finally {
      ac.abort();
    }
    this.counts.revisions += check.completed;
    // Resume at the last revision seen: it may have been cut short (a new stream delivers it whole).
    return check.last ?? start;
  }

  private agree(node: number, revision: number, d: string): void {
    const had = this.canonical.get(revision);
    if (had === undefined) this.canonical.set(revision, { digest: d, node });
    else if (had.digest !== d) this.env.onViolation(`watch: n${node} delivered revision ${revision} as ${JSON.stringify(d)}, n${had.node} as ${JSON.stringify(had.digest)}`);
  }
}

/** The order check of one stream: its start, then each next revision, once. */
class StreamCheck {
  last: number | null = null;
  completed = 0;
  private events: WatchEvent[] = [];
  private failed = false;

  constructor(
    private readonly start: number,
    private readonly onComplete: (revision: number, digest: string) => void,
    private readonly fail: (text: string) => void,
  ) {}

  take(batch: readonly WatchEvent[]): void {
    if (this.failed) return;
    for (const e of batch) {
      const rev = e.kv.modRevision;
      if (this.last === null ? rev !== this.start : rev !== this.last && rev !== this.last + 1) {
        this.fail(`revision ${rev} delivered after ${this.last ?? 'the start'} (a gap, a repeat or out of order)`);
        this.failed = true;
        return;
      }
      if (rev !== this.last && this.last !== null) this.finish();
      this.last = rev;
      this.events.push(e);
    }
  }

  private finish(): void {
    this.onComplete(this.last!, digest(this.events));
    this.completed++;
    this.events = [];
  }
}
