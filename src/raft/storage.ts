import { CompactedError, UnavailableError } from '../common/errors.js';

// Every Storage implementation throws these (they live in common so src/storage can use them too).
export { CompactedError, UnavailableError };
import { assert } from '../common/assert.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';


/**
 * What the core reads of durable state. Synchronous by design: the core never awaits. A durable
 * implementation keeps the live tail of the log in memory and writes through to disk (src/storage).
 * Only the driver mutates a Storage, and only with what it has made durable.
 *
 * Index conventions follow etcd-io/raft: the log holds a dummy entry at `firstIndex() - 1` whose
 * term is the snapshot's term, so `term(firstIndex() - 1)` always answers.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if lo < hi, at most `maxBytes` of payload beyond the first. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export function entryBytes(e: Entry): number {
  return e.data.byteLength + 24;
}

/** Take entries from the front of `ents` until their total size passes `maxBytes` (at least one). */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entryBytes(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entryBytes(ents[n]!);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * In-memory Storage that models durability for the simulation: it holds exactly what the driver
 * persisted, so a "crash" keeps this object and discards the core.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array(0) };
  /** ents[0] is the dummy entry at snapshot index. */
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  /**
   * The configuration is the snapshot's: a restarted node re-applies every entry after the snapshot,
   * conf changes included, so it passes through the same configurations as before.
   */
  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.meta.conf };
  }

  /** A brand-new cluster member of the initial configuration (see bootstrapEntries). */
  bootstrap(entries: readonly Entry[], hardState: HardState): void {
    assert(this.lastIndex() === 0 && this.hardState.term === 0, 'bootstrap of a non-empty storage');
    this.append(entries);
    this.hardState = hardState;
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (this.ents.length === 1) return [];
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.ents[0]!.index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index - offset >= this.ents.length) throw new UnavailableError(index, this.lastIndex());
    return this.ents[index - offset]!.term;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replace everything with a received snapshot. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) return;
    this.snap = snap;
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, type: 0, data: new Uint8Array(0) }];
  }

  /** Record a snapshot taken locally at `index` and drop entries up to `index - trailing`. */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    assert(index >= this.snap.meta.index, 'snapshot index went backwards');
    assert(index <= this.lastIndex(), `snapshot index ${index} past last index ${this.lastIndex()}`);
    this.snap = { meta: { index, term: this.term(index), conf }, data };
    return this.snap;
  }

  /** Discard entries before `compactIndex` (which becomes the dummy entry). */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) return;
    assert(compactIndex <= this.lastIndex(), 'compact past last index');
    this.ents = this.ents.slice(compactIndex - offset);
    const head = this.ents[0]!;
    this.ents[0] = { term: head.term, index: head.index, type: 0, data: new Uint8Array(0) };
  }

  /** Append durable entries; an entry at an existing index truncates the log from there. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    let ents = entries as Entry[];
    if (first > entries[0]!.index) ents = ents.slice(first - entries[0]!.index);
    const offset = ents[0]!.index - this.ents[0]!.index;
    assert(offset <= this.ents.length, () => `missing log entry: have up to ${this.lastIndex()}, got ${ents[0]!.index}`);
    this.ents = this.ents.slice(0, offset).concat(ents);
  }
}
