/**
 * Checks a whole KV history: split by key (P-compositionality: the history is linearizable iff every
 * key's sub-history is), search each key, and shrink each violation to a small failing sub-history.
 */
import { compileKey } from './compile.js';
import type { Operation, Value } from './history.js';
import { partitionByKey, validateHistory } from './history.js';
import type { SearchResult, Verdict } from './search.js';
import { searchLinearization } from './search.js';
import type { ShrinkOptions } from './shrink.js';
import { SHRINK_DEFAULTS, shrinkViolation } from './shrink.js';

export interface CheckOptions {
  /** Search steps per key before its verdict becomes 'unknown'. */
  readonly maxSteps?: number;
  /** Wall-clock budget for all keys' searches (shrinking has its own budget). */
  readonly timeLimitMs?: number;
  /** Values keys hold before the history starts; absent keys start absent. */
  readonly initialValues?: Readonly<Record<string, Value>>;
  /** Shrink violations (default true). */
  readonly shrink?: boolean | Omit<ShrinkOptions, 'initialValue' | 'now'>;
  readonly now?: () => number;
}

export interface KeyResult {
  readonly key: string;
  readonly verdict: Verdict;
  /** Operations that can affect the verdict (fails and unknown reads are not counted). */
  readonly operationCount: number;
  readonly steps: number;
  readonly elapsedMs: number;
  /** For a violation: a small sub-history that is still not linearizable. */
  readonly minimal: Operation[] | null;
  readonly shrinkChecks: number;
}

export interface CheckResult {
  /** 'violation' if any key has one, else 'unknown' if any key ran out of budget, else 'ok'. */
  readonly verdict: Verdict;
  readonly keys: KeyResult[];
  readonly elapsedMs: number;
}

export const CHECK_DEFAULTS = { maxSteps: 5_000_000 } as const;

/** Checks one key's operations (all must share the key); no shrinking. */
export function checkKeyOperations(
  operations: readonly Operation[],
  options: Pick<CheckOptions, 'maxSteps' | 'timeLimitMs' | 'now'> & { readonly initialValue?: Value | null } = {},
): SearchResult {
  const now = options.now ?? (() => performance.now());
  const deadlineMs = now() + (options.timeLimitMs ?? Number.POSITIVE_INFINITY);
  const compiled = compileKey(operations, options.initialValue ?? null);
  return searchLinearization(compiled, { maxSteps: options.maxSteps ?? CHECK_DEFAULTS.maxSteps, deadlineMs, now });
}

/**
 * Sub-histories rarely need a much longer search than the whole one did; capping each shrink check
 * near the original cost keeps shrinking from spending its budget on a few hopeless candidates.
 */
function shrinkStepsPerCheck(options: CheckOptions, originalSteps: number): number {
  const cap = Math.min(options.maxSteps ?? CHECK_DEFAULTS.maxSteps, SHRINK_DEFAULTS.maxStepsPerCheck);
  return Math.min(cap, 4 * originalSteps + 10_000);
}

function shrinkFor(ops: readonly Operation[], options: CheckOptions, initialValue: Value | null, search: SearchResult, culpritId: number | undefined) {
  const settings = typeof options.shrink === 'object' ? options.shrink : {};
  const now = options.now ?? (() => performance.now());
  return shrinkViolation(ops, {
    ...settings,
    maxStepsPerCheck: settings.maxStepsPerCheck ?? shrinkStepsPerCheck(options, search.steps),
    ...(culpritId === undefined ? {} : { culpritId }),
    initialValue,
    now,
  });
}

export function checkHistory(history: readonly Operation[], options: CheckOptions = {}): CheckResult {
  validateHistory(history);
  const now = options.now ?? (() => performance.now());
  const startedMs = now();
  const deadlineMs = startedMs + (options.timeLimitMs ?? Number.POSITIVE_INFINITY);
  const keys: KeyResult[] = [];
  for (const [key, ops] of partitionByKey(history)) {
    const keyStartedMs = now();
    const initialValue = options.initialValues?.[key] ?? null;
    const compiled = compileKey(ops, initialValue);
    const search = searchLinearization(compiled, { maxSteps: options.maxSteps ?? CHECK_DEFAULTS.maxSteps, deadlineMs, now });
    const elapsedMs = now() - keyStartedMs;
    let minimal: Operation[] | null = null;
    let shrinkChecks = 0;
    if (search.verdict === 'violation') {
      if (options.shrink === false) {
        minimal = [...compiled.ops];
      } else {
        const shrunk = shrinkFor(ops, options, initialValue, search, compiled.ops[search.blockingOp]?.id);
        minimal = shrunk.operations;
        shrinkChecks = shrunk.checks;
      }
    }
    keys.push({ key, verdict: search.verdict, operationCount: compiled.relevantCount, steps: search.steps, elapsedMs, minimal, shrinkChecks });
  }
  return { verdict: overallVerdict(keys), keys, elapsedMs: now() - startedMs };
}

function overallVerdict(keys: readonly KeyResult[]): Verdict {
  if (keys.some((k) => k.verdict === 'violation')) return 'violation';
  if (keys.some((k) => k.verdict === 'unknown')) return 'unknown';
  return 'ok';
}
