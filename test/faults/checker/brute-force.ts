/**
 * A deliberately naive linearizability oracle for tiny histories: try every order that respects real
 * time, applying a separately written register model. Exponential; only for cross-checking the search.
 */
import type { Operation, Value } from './history.js';
import { isRelevant } from './history.js';

const NOT_ALLOWED = Symbol('not allowed');

function apply(op: Operation, state: Value | null): Value | null | typeof NOT_ALLOWED {
  switch (op.kind) {
    case 'put':
      return op.input;
    case 'delete':
      return null;
    case 'get':
      return op.output === state ? state : NOT_ALLOWED;
    case 'cas': {
      const matches = state === op.input.expected;
      if (op.outcome === 'unknown') return matches ? op.input.new : state;
      if (op.output === true) return matches ? op.input.new : NOT_ALLOWED;
      return matches ? NOT_ALLOWED : state;
    }
  }
}

const completeOf = (op: Operation): number => (op.outcome === 'unknown' ? Number.POSITIVE_INFINITY : op.completeMs);

export function bruteForceLinearizable(history: readonly Operation[], initial: Value | null = null): boolean {
  const search = (remaining: readonly Operation[], state: Value | null): boolean => {
    if (remaining.length === 0) return true;
    return remaining.some((op) => {
      // `op` may go next only if nothing still pending had already completed before it began.
      if (remaining.some((q) => q !== op && completeOf(q) < op.invokeMs)) return false;
      const next = apply(op, state);
      return next !== NOT_ALLOWED && search(remaining.filter((q) => q !== op), next);
    });
  };
  return search(history.filter(isRelevant), initial);
}
