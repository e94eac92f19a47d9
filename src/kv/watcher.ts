import { assert } from '../common/assert.js';
import { AbortedError, InvalidArgumentError, OverloadedError } from '../common/errors.js';
import type { RaftkvError } from '../common/errors.js';
import { WatchCompactedError } from './errors.js';
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
  'watchHistoryEventsMax' | 'watchHistoryBytesMax' | 'watcherBufferEventsMax' | 'watchersMax' | 'watchBatchEventsMax' | 'watchHistoryScanRecordsMax'
>;

/** The store's persisted history, for watchers that start before the in-memory history. */
export interface PersistedHistory {
  /** The oldest revision a watch may start from (the compacted revision; 0: none compacted). */
  compactRevision(): number;
  /** Events of [from, to] with a matching key, whole revisions; `next` is the first revision not read. */
  read(from: number, to: number, matchKey: (key: Uint8Array) => boolean, limits: { eventsMax: number; scannedMax: number }): Promise<{ events: WatchEvent[]; next: number }>;
}

/**
 * Fans applied events out to watchers. A watcher starts "unsynced" and pulls from the history (the
 * recent events kept in memory, older ones from the db) until it reaches the current revision, then
 * turns "synced" and receives live events into a bounded buffer; when that buffer would overflow it
 * turns unsynced again and catches up from the history. The switch to synced happens synchronously
 * between applies, so a watcher sees every revision once, in order.
 */
export class WatchHub {
  readonly history: EventHistory;
  private readonly watchers = new Set<Watcher>();
  private currentRevision: number;

  constructor(
    readonly limits: WatchLimits,
    revision: number,
    readonly persisted: PersistedHistory,
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

function matcher(opts: WatchOptions): (key: Uint8Array) => boolean {
  const { key, prefix, range } = opts;
  const given = [key, prefix, range].filter((x) => x !== undefined).length;
  if (given !== 1) throw new InvalidArgumentError('watch needs exactly one of key, prefix and range');
  if (key !== undefined) return (k) => bytesEqual(k, key);
  if (prefix !== undefined) return (k) => hasPrefix(k, prefix);
  const r = range as KeyRange;
  return (k) => inRange(k, r);
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
  private readonly match: (e: WatchEvent) => boolean;

  constructor(
    private readonly hub: WatchHub,
    private readonly matchKey: (key: Uint8Array) => boolean,
    startRevision: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.match = (e) => matchKey(e.kv.key);
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
        const batch = await this.catchUp();
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
  private async catchUp(): Promise<WatchEvent[] | null> {
    const { history, persisted } = this.hub;
    const compacted = persisted.compactRevision();
    if (this.nextRevision < compacted) {
      this.finish(new WatchCompactedError(this.nextRevision, compacted));
      return null;
    }
    if (this.nextRevision > this.hub.revision) {
      this.synced = true;
      return null;
    }
    if (this.nextRevision < history.floor) return this.catchUpFromDb();
    const { events, next } = history.from(this.nextRevision, this.match, this.hub.limits.watchBatchEventsMax);
    // Every revision in [floor, current] has its events in history, so this step must make progress.
    assert(next > this.nextRevision, () => `watch history has no events at revision ${this.nextRevision}`);
    this.nextRevision = next;
    return events.length > 0 ? events : null;
  }

  /** Reads older revisions from the db; the watcher may end (restore, abort, close) while it waits. */
  private async catchUpFromDb(): Promise<WatchEvent[] | null> {
    const limits = { eventsMax: this.hub.limits.watchBatchEventsMax, scannedMax: this.hub.limits.watchHistoryScanRecordsMax };
    let read: { events: WatchEvent[]; next: number };
    try {
      read = await this.hub.persisted.read(this.nextRevision, this.hub.revision, this.matchKey, limits);
    } catch (e) {
      if (this.finished) return null; // the store was closed or replaced under the read
      throw e;
    }
    if (this.finished) return null;
    assert(read.next > this.nextRevision, () => `persisted history has no events at revision ${this.nextRevision}`);
    this.nextRevision = read.next;
    return read.events.length > 0 ? read.events : null;
  }

  /**
   * @internal Live events of one revision; only synced watchers take them (others read history). A
   * watcher whose buffer would overflow turns unsynced and reads this revision from history later.
   */
  deliverLive(revision: number, events: readonly WatchEvent[]): void {
    // A watch may start in the future: revisions before its start are not for it.
    if (!this.synced || this.finished || revision < this.nextRevision) return;
    const matched = events.filter(this.match);
    if (this.buffer.length + matched.length > this.hub.limits.watcherBufferEventsMax) {
      this.synced = false;
      this.wake?.();
      return;
    }
    this.nextRevision = revision + 1;
    if (matched.length === 0) return;
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

