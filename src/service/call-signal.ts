import type { Deadline } from '@grpc/grpc-js';
import { RaftkvError, ErrorCode } from '../common/errors.js';

export class RequestTimeoutError extends RaftkvError {
  override readonly name = 'RequestTimeoutError';
  /** `ms`: the deadline that passed, as this server saw it; `bySender`: the caller's, not the server's cap. */
  constructor(ms: number, bySender = false) {
    super(ErrorCode.Timeout, bySender
      ? `request did not finish before the caller's deadline (${ms} ms after it arrived here)`
      : `request did not finish within the server's limit of ${ms} ms`);
  }
}

/** What callScope needs of a server call (unary and streaming calls both have it). */
export interface CancellableCall {
  getDeadline(): Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

export interface CallScope {
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) for work done on behalf of this call, forwarding included. */
  readonly deadlineMs: number;
  dispose(): void;
  /** Who the call runs for, once src/service/auth-gate.ts has identified it; absent before that. */
  readonly caller?: Caller;
}

/**
 * The identity of a call: `user` is the verified user name (null while auth is off); `token` is the
 * caller's own token, passed on when the call is forwarded to a member that cannot trust `user`.
 */
export interface Caller {
  readonly user: string | null;
  readonly token?: string;
}

/**
 * Callers identified before their handler ran (src/service/auth-gate.ts's root-only wrapper), so the
 * handler's scope carries them: a forwarded call (MoveLeader through a follower) must name its caller.
 */
const identifiedCallers = new WeakMap<object, Caller>();

export function rememberCaller(call: object, caller: Caller): void {
  identifiedCallers.set(call, caller);
}

/**
 * An AbortSignal that fires when the caller cancels, the caller's deadline passes, the server-side
 * cap `timeoutMs` passes, or the server shuts down.
 */
export function callScope(call: CancellableCall, timeoutMs: number, shutdown: AbortSignal): CallScope {
  const ctl = new AbortController();
  const raw = call.getDeadline();
  const callerDeadlineMs = raw instanceof Date ? raw.getTime() : raw;
  const arrivedAtMs = Date.now();
  const bySender = Number.isFinite(callerDeadlineMs) && callerDeadlineMs < arrivedAtMs + timeoutMs;
  const deadlineMs = bySender ? callerDeadlineMs : arrivedAtMs + timeoutMs;
  // Quote the deadline that applies: a caller that gave 500 ms must not read "within 30000 ms".
  // Built only when it fires: an error (with its stack) per call was ~2% of a loaded leader's CPU.
  const onTimeout = (): void => ctl.abort(new RequestTimeoutError(bySender ? Math.max(0, deadlineMs - arrivedAtMs) : timeoutMs, bySender));
  const onCancel = (): void => ctl.abort(new RaftkvError(ErrorCode.Aborted, 'the caller cancelled the request'));
  const onShutdown = (): void => ctl.abort(new RaftkvError(ErrorCode.Stopped, 'the server is shutting down'));
  const timer = setTimeout(onTimeout, Math.max(0, deadlineMs - Date.now()));
  call.on('cancelled', onCancel);
  const offShutdown = onAbortOf(shutdown, onShutdown);
  const caller = identifiedCallers.get(call);
  return {
    signal: ctl.signal,
    deadlineMs,
    ...(caller !== undefined ? { caller } : {}),
    dispose: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
      offShutdown();
    },
  };
}

/**
 * Every call in flight waits on the server's one shutdown signal. Adding each as an 'abort' listener
 * made Node warn (MaxListenersExceededWarning, "11 abort listeners") as soon as 11 calls overlapped,
 * which the limit of 10 intends as a leak alarm, not a cap on concurrency. So the signal gets one
 * listener, which fans out to a set of the calls in flight (bounded by the server's stream limit).
 */
const shutdownWaiters = new WeakMap<AbortSignal, Set<() => void>>();

function onAbortOf(signal: AbortSignal, f: () => void): () => void {
  if (signal.aborted) {
    f();
    return () => undefined;
  }
  let waiters = shutdownWaiters.get(signal);
  if (waiters === undefined) {
    const set = new Set<() => void>();
    shutdownWaiters.set(signal, set);
    signal.addEventListener('abort', () => {
      for (const w of [...set]) w();
      set.clear();
    }, { once: true });
    waiters = set;
  }
  const entry = (): void => f();
  waiters.add(entry);
  const own = waiters;
  return () => {
    own.delete(entry);
  };
}
