/**
 * The in-memory copy of the live log: entries after the compaction point, exactly as they are on
 * disk. It answers the raft core's synchronous reads; DiskStorage mutates it only after the matching
 * batch is durable. Index conventions as in etcd-io/raft: a dummy entry at `firstIndex() - 1` whose
 * term is known (the compaction point), so `term(firstIndex() - 1)` always answers.
 */
import { assert } from '../common/assert.js';
import type { Entry } from '../raft/types.js';
import { CompactedError, UnavailableError } from '../common/errors.js';
import type { CompactionPoint } from './log-codec.js';

/** Bytes counted per entry on top of its payload; the same estimate as raft's `entryBytes`. */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entrySizeBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/**
 * Builds the errors for out-of-range reads. The default builds the classes the raft core matches
 * with `instanceof` (CompactedError / UnavailableError from src/common); tests may substitute.
 */
export interface LogErrorFactory {
  compacted(index: number, firstIndex: number): Error;
  unavailable(index: number, lastIndex: number): Error;
}

export const DEFAULT_LOG_ERRORS: LogErrorFactory = {
  compacted: (index, firstIndex) => new CompactedError(index, firstIndex),
  unavailable: (index, lastIndex) => new UnavailableError(index, lastIndex),
};

export class LogTail {
  private point: CompactionPoint;
  /** ents[i] has index point.index + 1 + i. */
  private ents: Entry[];
  private bytes: number;

  constructor(
    point: CompactionPoint,
    ents: Entry[],
    private readonly errors: LogErrorFactory = DEFAULT_LOG_ERRORS,
  ) {
    this.point = point;
    this.ents = ents;
    this.bytes = sumBytes(ents);
  }

  compactionPoint(): CompactionPoint {
    return this.point;
  }

  firstIndex(): number {
    return this.point.index + 1;
  }

  lastIndex(): number {
    return this.point.index + this.ents.length;
  }

  /** Payload bytes plus per-entry overhead of the entries held in memory. */
  sizeBytes(): number {
    return this.bytes;
  }

  term(index: number): number {
    if (index < this.point.index) throw this.errors.compacted(index, this.firstIndex());
    if (index > this.lastIndex()) throw this.errors.unavailable(index, this.lastIndex());
    return index === this.point.index ? this.point.term : this.ents[index - this.point.index - 1]!.term;
  }

  /** Entries in [lo, hi): at least one if lo < hi, then more while the total stays within maxBytes. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.point.index) throw this.errors.compacted(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw this.errors.unavailable(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.point.index - 1]!;
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Keep entries before `ents[0].index`, then append `ents` (which must be contiguous). */
  truncateAndAppend(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const keep = ents[0]!.index - this.point.index - 1;
    assert(keep >= 0 && keep <= this.ents.length, () => `append at ${ents[0]!.index} leaves a gap after ${this.lastIndex()}`);
    for (let i = keep; i < this.ents.length; i++) this.bytes -= entrySizeBytes(this.ents[i]!);
    this.ents.length = keep;
    for (const e of ents) {
      this.ents.push(e);
      this.bytes += entrySizeBytes(e);
    }
  }

  /** Drop entries up to and including `index`, which becomes the dummy entry. */
  compactTo(index: number): void {
    const drop = index - this.point.index;
    assert(drop >= 0 && drop <= this.ents.length, () => `compact to ${index} outside the log`);
    if (drop === 0) return;
    const term = this.term(index);
    const dropped = this.ents.slice(0, drop);
    this.ents = this.ents.slice(drop);
    this.bytes -= sumBytes(dropped);
    this.point = { index, term };
  }

  /** Drop every entry and restart the log after `point` (a received snapshot). */
  reset(point: CompactionPoint): void {
    this.point = point;
    this.ents = [];
    this.bytes = 0;
  }
}

function sumBytes(ents: readonly Entry[]): number {
  let total = 0;
  for (const e of ents) total += entrySizeBytes(e);
  return total;
}
