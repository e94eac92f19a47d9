import type { Deadline } from '@grpc/grpc-js';
import { RaftkvError, ErrorCode } from '../common/errors.js';

export class RequestTimeoutError extends RaftkvError {
  override readonly name = 'RequestTimeoutError';
  constructor(ms: number) {
    super(ErrorCode.Timeout, `request did not finish within ${ms} ms`);
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
}

/**
 * An AbortSignal that fires when the caller cancels, the caller's deadline passes, the server-side
 * cap `timeoutMs` passes, or the server shuts down.
 */
export function callScope(call: CancellableCall, timeoutMs: number, shutdown: AbortSignal): CallScope {
  const ctl = new AbortController();
  const raw = call.getDeadline();
  const callerDeadlineMs = raw instanceof Date ? raw.getTime() : raw;
  const deadlineMs = Math.min(Number.isFinite(callerDeadlineMs) ? callerDeadlineMs : Infinity, Date.now() + timeoutMs);
  const onCancel = (): void => ctl.abort(new RaftkvError(ErrorCode.Aborted, 'the caller cancelled the request'));
  const onShutdown = (): void => ctl.abort(new RaftkvError(ErrorCode.Stopped, 'the server is shutting down'));
  const timer = setTimeout(() => ctl.abort(new RequestTimeoutError(timeoutMs)), Math.max(0, deadlineMs - Date.now()));
  call.on('cancelled', onCancel);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });
  return {
    signal: ctl.signal,
    deadlineMs,
    dispose: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
      shutdown.removeEventListener('abort', onShutdown);
    },
  };
}
