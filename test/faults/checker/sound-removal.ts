/**
 * When may the shrinker drop operations from a non-linearizable history and trust that what is left
 * still shows a real bug? Removing a read is always sound: a linearization of the whole history minus
 * that read is a linearization of the rest. Removing a write is not: without the delete between
 * `cas ∅→x` and `get → ∅` those two alone look broken although the full history was fine.
 *
 * The rule here: dropping a set of operations is sound when, for any linearization S of the current
 * history, S minus those operations is a linearization of the rest. A remaining operation only notices
 * the change if the last write before it in S was dropped. So:
 *  1. no remaining operation may observe a value that a dropped write wrote (ok get output, ok CAS
 *     expected, unknown CAS expected — an unknown CAS that did not fire can move to the very end);
 *  2. a remaining failed CAS could now match the value under the dropped write; that is ruled out when
 *     its expected value is not held by any remaining write nor initially, or when the dropped write
 *     cannot be the last one before it in real time (it began after the CAS ended, or a definite write
 *     lies strictly between them).
 * So a shrunk violation implies the original was a violation: the minimal history is a certificate.
 */
import type { Operation, Value } from './history.js';

/** What a (possible) write leaves in the register; undefined for operations that write nothing. */
export function writtenValueOf(op: Operation): Value | null | undefined {
  if (op.kind === 'put') return op.input;
  if (op.kind === 'delete') return null;
  if (op.kind === 'cas' && (op.outcome === 'unknown' || op.output === true)) return op.input.new;
  return undefined;
}

/** The value an operation saw in the register; undefined when it saw nothing definite. */
export function observedValueOf(op: Operation): Value | null | undefined {
  if (op.kind === 'get' && op.outcome === 'ok') return op.output ?? null;
  if (op.kind === 'cas' && (op.outcome === 'unknown' || op.output === true)) return op.input.expected;
  return undefined;
}

function isDefiniteWrite(op: Operation): boolean {
  return op.outcome === 'ok' && writtenValueOf(op) !== undefined;
}

/** For a time t: the earliest completion of a definite write invoked strictly after t. */
function earliestCompletionAfter(ops: readonly Operation[]): (t: number) => number {
  const writes = ops.filter(isDefiniteWrite).sort((a, b) => a.invokeMs - b.invokeMs);
  const suffixMin = new Float64Array(writes.length + 1).fill(Number.POSITIVE_INFINITY);
  for (let i = writes.length - 1; i >= 0; i--) suffixMin[i] = Math.min(suffixMin[i + 1] as number, (writes[i] as Operation).completeMs);
  return (t) => {
    let lo = 0;
    let hi = writes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((writes[mid] as Operation).invokeMs > t) hi = mid;
      else lo = mid + 1;
    }
    return suffixMin[lo] as number;
  };
}

/** Remaining failed CAS operations whose expected value some remaining write (or the start) holds. */
function riskyFailedCas(remaining: readonly Operation[], initialValue: Value | null): Operation[] {
  const held = new Set<Value | null>([initialValue, ...remaining.map(writtenValueOf).filter((v) => v !== undefined)]);
  return remaining.filter((op) => op.kind === 'cas' && op.outcome === 'ok' && op.output === false && held.has(op.input.expected));
}

export function removalIsSound(before: readonly Operation[], removed: readonly Operation[], initialValue: Value | null = null): boolean {
  const removedWrites = removed.filter((op) => writtenValueOf(op) !== undefined);
  if (removedWrites.length === 0) return true;
  const removedSet = new Set(removed);
  const remaining = before.filter((op) => !removedSet.has(op));

  const observed = new Set(remaining.map(observedValueOf).filter((v) => v !== undefined));
  if (removedWrites.some((w) => observed.has(writtenValueOf(w) as Value | null))) return false;

  const risky = riskyFailedCas(remaining, initialValue);
  if (risky.length === 0) return true;
  const nextWriteDoneMs = earliestCompletionAfter(before);
  return removedWrites.every((w) => {
    const separatorDoneMs = w.outcome === 'unknown' ? Number.POSITIVE_INFINITY : nextWriteDoneMs(w.completeMs);
    return risky.every((f) => w.invokeMs > f.completeMs || separatorDoneMs < f.invokeMs);
  });
}

/**
 * Drops unknown writes whose removal is sound. The verdict does not change: a linearization without
 * them extends to one with them by putting them last (they never completed, nobody saw them). Each one
 * kept would otherwise double the configurations the search may have to visit.
 */
export function pruneIdleUnknownWrites(ops: readonly Operation[], initialValue: Value | null = null): readonly Operation[] {
  const observed = new Set(ops.map(observedValueOf).filter((v) => v !== undefined));
  const idle = ops.filter((op) => {
    const v = writtenValueOf(op);
    return op.outcome === 'unknown' && v !== undefined && !observed.has(v);
  });
  if (idle.length === 0) return ops;
  // Judged against the full history: more values held means more risky CAS, so this is conservative
  // for every subset, and each idle write can be judged alone (unknown: no write can separate it).
  const risky = riskyFailedCas(ops, initialValue);
  const gone = new Set(idle.filter((w) => risky.every((f) => w.invokeMs > f.completeMs)));
  return gone.size === 0 ? ops : ops.filter((op) => !gone.has(op));
}
