import { ErrorCode, RaftkvError } from '../common/errors.js';

/**
 * Errors the client raises. Every one is a RaftkvError with a stable `code`; `grpcCode` keeps the gRPC
 * status the server (or the channel) answered with, for logs.
 */
export class ClientError extends RaftkvError {
  override readonly name: string = 'ClientError';
  constructor(
    code: ErrorCode,
    message: string,
    readonly grpcCode: number | null,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The call did not finish within its deadline (`timeoutMs`), including every retry. */
export class ClientTimeoutError extends ClientError {
  override readonly name = 'ClientTimeoutError';
  constructor(timeoutMs: number, lastError: unknown) {
    super(ErrorCode.Timeout, `deadline of ${timeoutMs} ms exceeded${describeLast(lastError)}`, null, { cause: lastError });
  }
}

/** Every attempt failed with a retryable error; `lastError` says why the last one did. */
export class RetriesExhaustedError extends ClientError {
  override readonly name = 'RetriesExhaustedError';
  constructor(attempts: number, readonly lastError: RaftkvError) {
    super(lastError.code, `gave up after ${attempts} attempts: ${lastError.message}`, null, { cause: lastError });
  }
}

/** The caller's AbortSignal fired. */
export class ClientAbortedError extends ClientError {
  override readonly name = 'ClientAbortedError';
  constructor(reason?: unknown) {
    super(ErrorCode.Aborted, 'operation aborted by the caller', null, { cause: reason });
  }
}

/** The client was closed; no new calls are accepted. */
export class ClientClosedError extends ClientError {
  override readonly name = 'ClientClosedError';
  constructor() {
    super(ErrorCode.Stopped, 'client is closed', null);
  }
}

/** Too many writes are in flight on this client at once (each needs its own request-id session). */
export class ClientOverloadedError extends ClientError {
  override readonly name = 'ClientOverloadedError';
  constructor(limit: number) {
    super(ErrorCode.Overloaded, `more than ${limit} writes in flight on this client; retry later`, null);
  }
}

/** The watch's start revision is older than the server keeps; watch again from `compactRevision`. */
export class WatchCompactedError extends ClientError {
  override readonly name = 'WatchCompactedError';
  constructor(readonly compactRevision: number) {
    super(ErrorCode.NotFound, `watch start revision is compacted; the oldest watchable revision is ${compactRevision}`, null);
  }
}

/** A snapshot restore replaced the state under the watch: re-read, then watch from `revision + 1`. */
export class WatchAbandonedError extends ClientError {
  override readonly name = 'WatchAbandonedError';
  constructor(readonly revision: number) {
    super(ErrorCode.Aborted, `watch abandoned: the state was replaced by a snapshot at revision ${revision}`, null);
  }
}

function describeLast(e: unknown): string {
  return e instanceof Error ? ` (last error: ${e.message})` : '';
}
