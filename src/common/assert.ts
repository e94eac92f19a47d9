/** Thrown when an internal invariant does not hold: a bug, never a user error. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Invariant check that stays on in production: a broken invariant must stop the node, not corrupt it. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'function' ? message() : message);
  }
}

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable ${what}: ${String(value)}`);
}
