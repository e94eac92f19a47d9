import { ErrorCode, type RaftkvError } from '../common/errors.js';
import { ClientAbortedError, ClientClosedError, ClientError, ClientTimeoutError, RetriesExhaustedError } from './errors.js';
import { errorFromGrpc, isRetryable } from './status.js';

export interface RetryPolicy {
  /** Attempts per call, the first included; bounded so a dead cluster fails instead of spinning. */
  readonly attemptsMax: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attemptsMax: 8, backoffBaseMs: 25, backoffCapMs: 1000 };

/** What one attempt gets: where to send, until when, and a signal that fires on caller abort. */
export interface Attempt {
  readonly attempt: number;
  /** A Date, or Infinity for calls that wait as long as their caller does (Lock, Campaign). */
  readonly deadline: Date | number;
  readonly signal: AbortSignal | undefined;
}

export interface RetryContext {
  /** Infinity: no deadline (the caller's signal ends the call). */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly policy: RetryPolicy;
  /** Called after a retryable failure so the next attempt goes to another endpoint. */
  readonly onRetryableFailure: () => void;
  /** Injected for tests; defaults to Math.random (jitter only, never affects correctness). */
  readonly random?: () => number;
}

/** Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^n)). */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** Math.min(retry, 20));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, runs out of attempts or passes
 * the deadline. The caller builds the request once, outside `attempt`, so every retry of a write sends
 * the same request id.
 */
export async function withRetries<T>(ctx: RetryContext, attempt: (a: Attempt) => Promise<T>): Promise<T> {
  const deadlineMs = Date.now() + ctx.timeoutMs;
  const random = ctx.random ?? Math.random;
  let last: RaftkvError | null = null;
  for (let n = 0; n < ctx.policy.attemptsMax; n++) {
    if (aborted(ctx.signal)) throw new ClientAbortedError(ctx.signal?.reason);
    if (Date.now() >= deadlineMs) throw new ClientTimeoutError(ctx.timeoutMs, last);
    try {
      return await attempt({ attempt: n, deadline: Number.isFinite(deadlineMs) ? new Date(deadlineMs) : Infinity, signal: ctx.signal });
    } catch (e) {
      const err = errorFromGrpc(e);
      if (aborted(ctx.signal)) throw new ClientAbortedError(ctx.signal?.reason);
      if (err.code === ErrorCode.Timeout && Date.now() >= deadlineMs - 1) throw new ClientTimeoutError(ctx.timeoutMs, err);
      if (!isRetryable(err)) throw err;
      last = err;
      ctx.onRetryableFailure();
    }
    if (n + 1 < ctx.policy.attemptsMax) {
      const waitMs = Math.min(backoffMs(ctx.policy, n, random), Math.max(0, deadlineMs - Date.now()));
      await sleep(waitMs, ctx.signal);
    }
  }
  throw new RetriesExhaustedError(ctx.policy.attemptsMax, last ?? new ClientTimeoutError(ctx.timeoutMs, null));
}

/** A function, not a property read, so TypeScript does not narrow it across awaits. */
export function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** A sleep that ends early (with ClientAbortedError) when the signal fires. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new ClientAbortedError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ClientAbortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The error that ended a resumable stream (watch, observe): throws what must end it for good (the
 * server's own refusal, the caller's abort, a closed client, a non-retryable status) and returns
 * what a resume on another member may get past.
 */
export function resumableFailure(e: unknown, signal: AbortSignal | undefined, isClosed: boolean): RaftkvError {
  if (e instanceof ClientError) throw e;
  if (aborted(signal)) throw new ClientAbortedError(signal?.reason);
  if (isClosed) throw new ClientClosedError();
  const failure = errorFromGrpc(e);
  if (!isRetryable(failure)) throw failure;
  return failure;
}

/** Before resuming a stream after its `failures`-th failure in a row: gives up past the policy, else backs off. */
export async function backOffBeforeResume(policy: RetryPolicy, failures: number, failure: RaftkvError | null, signal: AbortSignal | undefined): Promise<void> {
  if (failures >= policy.attemptsMax && failure !== null) throw new RetriesExhaustedError(failures, failure);
  await sleep(backoffMs(policy, failures, Math.random), signal);
}
