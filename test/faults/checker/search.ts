/**
 * Wing & Gong's linearizability search with Lowe's memoization, the algorithm of Porcupine and of
 * Knossos' "linear" checker, for one key's register.
 *
 * Walk the time-ordered event list. At a call, try to linearize that operation now: if the model
 * allows it and the resulting configuration is new, lift its call and return out of the list, push it
 * on a stack and restart from the head. At a return whose operation is not yet linearized, nothing
 * later may go first, so backtrack: pop the last choice, put its events back, and try the next call
 * after it. An empty list means every operation found a place: linearizable. Backtracking past the
 * first choice means no order works: a violation.
 */
import type { CompiledKey, EventList } from './compile.js';
import { NO_STATE, stepRegister } from './compile.js';
import { ConfigurationCache, LinearizedSet } from './memo.js';

export type Verdict = 'ok' | 'violation' | 'unknown';

export interface SearchBudget {
  /** Loop iterations before giving up with 'unknown'. */
  readonly maxSteps: number;
  /** Absolute time on `now()` after which the search gives up with 'unknown'. */
  readonly deadlineMs: number;
  readonly now: () => number;
}

export interface SearchResult {
  readonly verdict: Verdict;
  /**
   * For a violation: the operation (index into the compiled ops) whose completion blocked the deepest
   * partial linearization found; usually the read that could not be explained. -1 otherwise.
   */
  readonly blockingOp: number;
  readonly steps: number;
  readonly cachedConfigurations: number;
}

/** How many steps between clock reads: reading the clock every step would dominate the cost. */
const CLOCK_CHECK_INTERVAL_STEPS = 1024;

function lift(ev: EventList, call: number): void {
  const { next, prev } = ev;
  const ret = call + 1;
  next[prev[call] as number] = next[call] as number;
  prev[next[call] as number] = prev[call] as number;
  next[prev[ret] as number] = next[ret] as number;
  const after = next[ret] as number;
  if (after !== -1) prev[after] = prev[ret] as number;
}

function unlift(ev: EventList, call: number): void {
  const { next, prev } = ev;
  const ret = call + 1;
  next[prev[ret] as number] = ret;
  const after = next[ret] as number;
  if (after !== -1) prev[after] = ret;
  next[prev[call] as number] = call;
  prev[next[call] as number] = call;
}

export function searchLinearization(key: CompiledKey, budget: SearchBudget): SearchResult {
  const ev = key.events;
  const n = key.ops.length;
  const linearized = new LinearizedSet(n);
  const cache = new ConfigurationCache();
  const stackCall = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let state = key.initialState;
  let entry = ev.next[ev.head] as number;
  let steps = 0;
  let deepest = -1;
  let blockingOp = -1;
  const result = (verdict: Verdict): SearchResult => ({
    verdict,
    blockingOp: verdict === 'violation' ? blockingOp : -1,
    steps,
    cachedConfigurations: cache.size,
  });

  while (ev.next[ev.head] !== -1) {
    steps++;
    if (steps > budget.maxSteps) return result('unknown');
    if (steps % CLOCK_CHECK_INTERVAL_STEPS === 0 && budget.now() > budget.deadlineMs) return result('unknown');
    if ((entry & 1) === 0) {
      const op = entry >> 1;
      const nextState = stepRegister(key, op, state);
      if (nextState !== NO_STATE) {
        linearized.set(op);
        if (cache.addIfAbsent(linearized, nextState)) {
          stackCall[depth] = entry;
          stackState[depth] = state;
          depth++;
          state = nextState;
          lift(ev, entry);
          entry = ev.next[ev.head] as number;
          continue;
        }
        linearized.clear(op);
      }
      entry = ev.next[entry] as number;
    } else {
      if (depth > deepest) {
        deepest = depth;
        blockingOp = entry >> 1;
      }
      if (depth === 0) return result('violation');
      depth--;
      entry = stackCall[depth] as number;
      state = stackState[depth] as number;
      linearized.clear(entry >> 1);
      unlift(ev, entry);
      entry = ev.next[entry] as number;
    }
  }
  return result('ok');
}
