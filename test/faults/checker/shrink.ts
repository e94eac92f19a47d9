/**
 * Greedy delta debugging of a non-linearizable sub-history: remove chunks of operations (halves, then
 * quarters, ... then single operations) and keep each removal that is sound (sound-removal.ts: the
 * rest still proves the original history broken) and leaves the history non-linearizable. Unknown
 * operations go first: they make every check expensive. Single-operation passes repeat until none
 * succeeds, so an unexhausted result is 1-minimal among sound removals. A check that runs out of
 * budget counts as "not a violation", so the result is always a proven violation.
 *
 * Before that, a cheap focusing step: the search names the operation that blocked its deepest partial
 * linearization (usually the unexplainable read). Keep only operations in a time window ending at it
 * (plus the writes of every value they observe), doubling the window until that alone is a violation.
 * Candidates that end at the culprit are cheap to check, while ddmin's first halves are not.
 *
 * Failed writes of values the result reads are added back at the end, as context: they cannot change
 * the verdict but are usually the explanation ("this write was reported failed, yet was read").
 */
import { compileKey } from './compile.js';
import type { Operation, Value } from './history.js';
import { isRelevant } from './history.js';
import { searchLinearization } from './search.js';
import { observedValueOf, removalIsSound, writtenValueOf } from './sound-removal.js';

export interface ShrinkOptions {
  /** Linearizability checks to spend at most. */
  readonly maxChecks?: number;
  readonly timeLimitMs?: number;
  /** Search budget of each check. */
  readonly maxStepsPerCheck?: number;
  readonly initialValue?: Value | null;
  /** The checker's blocking operation (SearchResult.blockingOp's id); found by one more search if absent. */
  readonly culpritId?: number;
  readonly now?: () => number;
}

export interface ShrinkResult {
  readonly operations: Operation[];
  readonly checks: number;
  /** True when the budget ran out before the result was known to be 1-minimal. */
  readonly exhausted: boolean;
}

export const SHRINK_DEFAULTS = { maxChecks: 5_000, timeLimitMs: 20_000, maxStepsPerCheck: 1_000_000 } as const;

/** `operations` must be one key's non-linearizable history (as found by the checker). */
export function shrinkViolation(operations: readonly Operation[], options: ShrinkOptions = {}): ShrinkResult {
  const now = options.now ?? (() => performance.now());
  const maxChecks = options.maxChecks ?? SHRINK_DEFAULTS.maxChecks;
  const deadlineMs = now() + (options.timeLimitMs ?? SHRINK_DEFAULTS.timeLimitMs);
  const maxSteps = options.maxStepsPerCheck ?? SHRINK_DEFAULTS.maxStepsPerCheck;
  let checks = 0;
  let exhausted = false;
  const findCulprit = (candidate: readonly Operation[]): Operation | undefined => {
    checks++;
    const key = compileKey(candidate, options.initialValue ?? null);
    return key.ops[searchLinearization(key, { maxSteps, deadlineMs, now }).blockingOp];
  };
  const violates = (candidate: readonly Operation[]): boolean => {
    if (checks >= maxChecks || now() > deadlineMs) {
      exhausted = true;
      return false;
    }
    checks++;
    const key = compileKey(candidate, options.initialValue ?? null);
    return searchLinearization(key, { maxSteps, deadlineMs, now }).verdict === 'violation';
  };

  // Operations that cannot affect the verdict go first, without spending checks.
  let ops = operations.filter(isRelevant);
  const initialValue = options.initialValue ?? null;
  const tryRemove = (removed: readonly Operation[]): boolean => {
    const gone = new Set(removed);
    const candidate = ops.filter((op) => !gone.has(op));
    if (candidate.length === 0 || !removalIsSound(ops, removed, initialValue) || !violates(candidate)) return false;
    ops = candidate;
    return true;
  };
  const culprit = options.culpritId !== undefined ? ops.find((op) => op.id === options.culpritId) : findCulprit(ops);
  if (culprit !== undefined) focusOn(culprit, () => ops, tryRemove, () => exhausted);
  deltaDebug(() => ops.filter((op) => op.outcome === 'unknown'), tryRemove, () => exhausted);
  deltaDebug(() => ops, tryRemove, () => exhausted);
  return { operations: withFailedWritesRead(ops, operations), checks, exhausted };
}

/** Operations whose (possible) writes produce a value some operation in `keep` observed, to a fixed point. */
function closeOverObservedWrites(keep: Set<Operation>, all: readonly Operation[]): void {
  for (let grew = true; grew; ) {
    grew = false;
    const observed = new Set([...keep].map(observedValueOf).filter((v) => v !== undefined));
    for (const op of all) {
      const v = writtenValueOf(op);
      if (v !== undefined && observed.has(v) && !keep.has(op)) {
        keep.add(op);
        grew = true;
      }
    }
  }
}

function focusOn(
  culprit: Operation,
  current: () => readonly Operation[],
  tryRemove: (removed: readonly Operation[]) => boolean,
  stop: () => boolean,
): void {
  const ops = current();
  const earliestMs = Math.min(...ops.map((op) => op.invokeMs));
  const completeOf = (op: Operation): number => (op.outcome === 'unknown' ? Number.POSITIVE_INFINITY : op.completeMs);
  for (let widthMs = Math.max(1, culprit.completeMs - culprit.invokeMs); !stop(); widthMs *= 2) {
    const fromMs = culprit.invokeMs - widthMs;
    const keep = new Set(ops.filter((op) => completeOf(op) >= fromMs && op.invokeMs <= culprit.completeMs));
    keep.add(culprit);
    closeOverObservedWrites(keep, ops);
    if (keep.size === ops.length || tryRemove(ops.filter((op) => !keep.has(op))) || fromMs < earliestMs) return;
  }
}

/** ddmin's reduction loop over `pool()` (re-read after each success, since removal shrinks it). */
function deltaDebug(pool: () => readonly Operation[], tryRemove: (removed: readonly Operation[]) => boolean, stop: () => boolean): void {
  let chunk = Math.max(1, pool().length);
  while (!stop() && pool().length > 0) {
    let removedAny = false;
    for (let start = 0; start < pool().length && !stop(); ) {
      if (tryRemove(pool().slice(start, start + chunk))) removedAny = true;
      else start += chunk;
    }
    if (chunk === 1 && !removedAny) return;
    chunk = Math.max(1, Math.ceil(chunk / 2));
  }
}

function withFailedWritesRead(minimal: readonly Operation[], all: readonly Operation[]): Operation[] {
  const observed = new Set(minimal.map(observedValueOf).filter((v) => v !== undefined));
  const context = all.filter((op) => {
    const v = writtenValueOf(op);
    return op.outcome === 'fail' && v !== undefined && observed.has(v);
  });
  const ids = new Set([...minimal, ...context].map((op) => op.id));
  return all.filter((op) => ids.has(op.id));
}
