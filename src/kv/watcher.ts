import { assert } from '../common/assert.js';
import { AbortedError, InvalidArgumentError, OverloadedError } from '../common/errors.js';
import type { RaftkvError } from '../common/errors.js';
import { WatchCompactedError, WatcherOverflowError } from './errors.js';
import { EventHistory } from './history.js';
import { bytesEqual, hasPrefix, inRange } from './keys.js';
import type { KeyRange } from './keys.js';
import type { KvLimits } from './limits.js';
import type { WatchEvent } from './types.js';

export interface WatchOptions {
  /** Exactly one of key, prefix and range; an empty prefix watches every key. */
  readonly key?: Uint8Array;
  readonly prefix?: Uint8Array;
  /** The keys of [start, end); end null: every key from start on (etcd's range_end forms). */
  readonly range?: KeyRange;
  /** First revision to deliver; 0 or absent means "from the next write". */
  readonly startRevision?: number;
  readonly signal?: AbortSignal;
}

type WatchLimits = Pick<
  KvLimits,
  'watchHistoryEventsMax' | 'watchHistoryBytesMax' | 'watcherBufferEventsMax' | 'watchersMax' | 'watchBatchEventsMax'
>;

/**
 * Fans applied events out to watchers. A watcher starts "unsynced" and pulls from the history until it
 * reaches the current revision, then turns "synced" and receives live events into a bounded buffer.
 * Both steps run synchronously between applies, so a watcher sees every revision once, in order.
 */
export class WatchHub {
  readonly history: EventHistory;
  private readonly watchers = new Set<Watcher>();
  private currentRevision: number;

  constructor(
    readonly limits: WatchLimits,
    revision: number,
  ) {
    this.history = new EventHistory(limits.watchHistoryEventsMax, limits.watchHistoryBytesMax, revision);
    this.currentRevision = revision;
  }

  get revision(): number {
    return this.currentRevision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  watch(opts: WatchOptions): Watcher {
    if (this.watchers.size >= this.limits.watchersMax) throw new OverloadedError('watcher table', this.limits.watchersMax);
    const start = opts.startRevision === undefined || opts.startRevision === 0 ? this.currentRevision + 1 : opts.startRevision;
    const w = new Watcher(this, matcher(opts), start, opts.signal);
    this.watchers.add(w);
    return w;
  }

  /** Called once per applied revision that changed something, after the write is durable. */
  publish(revision: number, events: readonly WatchEvent[]): void {
    this.currentRevision = revision;
    this.history.append(events);
    for (const w of this.watchers) w.deliverLive(revision, events);
  }

  /** The state was replaced (restore) or the store closes: end every watcher with `error`. */
  endAll(error: RaftkvError, revision: number): void {
    this.currentRevision = revision;
    this.history.reset(revision);
    for (const w of [...this.watchers]) w.fail(error);
  }

  /** @internal */
  forget(w: Watcher): void {
    this.watchers.delete(w);
  }
}

function matcher(opts: WatchOptions): (e: WatchEvent) => boolean {
  const { key, prefix, range } = opts;
  const given = [key, prefix, range].filter((x) => x !== undefined).length;
  if (given !== 1) throw new InvalidArgumentError('watch needs exactly one of key, prefix and range');
  if (key !== undefined) return (e) => bytesEqual(e.kv.key, key);
  if (prefix !== undefined) return (e) => hasPrefix(e.kv.key, prefix);
  const r = range as KeyRange;
  return (e) => inRange(e.kv.key, r);
}

/** An async iterator of event batches (each holds whole revisions, in order). Ends by throwing a typed error. */
export class Watcher implements AsyncIterableIterator<WatchEvent[]> {
  private nextRevision: number;
  private synced = false;
  private buffer: WatchEvent[] = [];
  private failure: RaftkvError | null = null;
  private finished = false;
  private wake: (() => void) | null = null;
  private readonly onAbort = (): void => {
    this.buffer = [];
    this.fail(new AbortedError('watch aborted'));
  };

  constructor(
    private readonly hub: WatchHub,
    private readonly match: (e: WatchEvent) => boolean,
    startRevision: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.nextRevision = startRevision;
    if (signal?.aborted === true) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<WatchEvent[]>> {
    while (true) {
      if (this.buffer.length > 0) return { value: this.buffer.splice(0), done: false };
      if (this.failure !== null) {
        const error = this.failure;
        this.failure = null;
        throw error;
      }
      if (this.finished) return { value: undefined, done: true };
      if (!this.synced) {
        const batch = this.catchUp();
        if (batch !== null) return { value: batch, done: false };
        continue;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  async return(): Promise<IteratorResult<WatchEvent[]>> {
    this.finish(null);
    this.buffer = [];
    this.failure = null;
    return { value: undefined, done: true };
  }

  /** One step of catching up from history; null when there was nothing to hand out this step. */
  private catchUp(): WatchEvent[] | null {
    const history = this.hub.history;
    if (this.nextRevision < history.floor) {
      this.finish(new WatchCompactedError(this.nextRevision, history.floor));
      return null;
    }
    if (this.nextRevision > this.hub.revision) {
      this.synced = true;
      return null;
    }
    const { events, next } = history.from(this.nextRevision, this.match, this.hub.limits.watchBatchEventsMax);
    // Every revision in [floor, current] has its events in history, so this step must make progress.
    assert(next > this.nextRevision, () => `watch history has no events at revision ${this.nextRevision}`);
    this.nextRevision = next;
    return events.length > 0 ? events : null;
  }

  /** @internal Live events of one revision; only synced watchers take them (others read history). */
  deliverLive(revision: number, events: readonly WatchEvent[]): void {
    // A watch may start in the future: revisions before its start are not for it.
    if (!this.synced || this.finished || revision < this.nextRevision) return;
    this.nextRevision = revision + 1;
    const matched = events.filter(this.match);
    if (matched.length === 0) return;
    const max = this.hub.limits.watcherBufferEventsMax;
    if (this.buffer.length + matched.length > max) {
      this.fail(new WatcherOverflowError(max));
      return;
    }
    this.buffer.push(...matched);
    this.wake?.();
  }

  /** @internal Ends the watcher: buffered events are still handed out, then `error` is thrown. */
  fail(error: RaftkvError): void {
    this.finish(error);
  }

  private finish(error: RaftkvError | null): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.hub.forget(this);
    this.wake?.();
  }
}

