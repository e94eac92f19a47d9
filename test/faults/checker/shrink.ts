/**
 * Greedy delta debugging of a non-linearizable sub-history: remove chunks of operations (halves, then
 * quarters, ... then single operations) and keep each removal that leaves the history still
 * non-linearizable. Single-operation passes repeat until none succeeds, so an unexhausted result is
 * 1-minimal: dropping any one remaining operation makes it linearizable. A check that runs out of
 * budget counts as "not a violation", so the result is always a proven violation.
 */
import { compileKey } from './compile.js';
import type { Operation, Value } from './history.js';
import { isRelevant } from './history.js';
import { searchLinearization } from './search.js';

export interface ShrinkOptions {
  /** Linearizability checks to spend at most. */
  readonly maxChecks?: number;
  readonly timeLimitMs?: number;
  /** Search budget of each check. */
  readonly maxStepsPerCheck?: number;
  readonly initialValue?: Value | null;
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
  let chunk = Math.max(1, Math.ceil(ops.length / 2));
  while (!exhausted) {
    let removedAny = false;
    for (let start = 0; start < ops.length && !exhausted; ) {
      const candidate = ops.slice(0, start).concat(ops.slice(start + chunk));
      if (candidate.length > 0 && violates(candidate)) {
        ops = candidate;
        removedAny = true;
      } else {
        start += chunk;
      }
    }
    if (chunk === 1 && !removedAny) break;
    chunk = Math.max(1, Math.ceil(chunk / 2));
  }
  return { operations: ops, checks, exhausted };
}
