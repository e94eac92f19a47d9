import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { ClientAbortedError, ClientOverloadedError, ClientTimeoutError, ServerError, errorFromGrpc, isRetryable } from '../../src/client/index.js';

function grpcError(code: status, meta: Record<string, string> = {}): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(meta)) metadata.set(k, v);
  return { code, details: 'boom', metadata };
}

describe('gRPC status -> typed error', () => {
  it.each([
    [status.INVALID_ARGUMENT, ErrorCode.InvalidArgument, false],
    [status.NOT_FOUND, ErrorCode.NotFound, false],
    [status.UNAVAILABLE, ErrorCode.Unavailable, true],
    [status.DEADLINE_EXCEEDED, ErrorCode.Timeout, false],
    [status.CANCELLED, ErrorCode.Aborted, false],
    [status.DATA_LOSS, ErrorCode.Corrupt, false],
    [status.INTERNAL, ErrorCode.Internal, false],
    [status.UNKNOWN, ErrorCode.Internal, false],
    [status.PERMISSION_DENIED, ErrorCode.Internal, false],
  ])('status %i maps to %s (retryable %s)', (code, expected, retryable) => {
    const e = errorFromGrpc(grpcError(code));
    expect(e).toBeInstanceOf(ServerError);
    expect(e.code).toBe(expected);
    expect(e.message).toBe('boom');
    expect(isRetryable(e)).toBe(retryable);
  });

  it('the raftkv-error-code trailer wins over the status, and the leader hint is kept', () => {
    const e = errorFromGrpc(grpcError(status.UNAVAILABLE, { 'raftkv-error-code': 'NOT_LEADER', 'raftkv-leader-id': '3' }));
    expect(e.code).toBe(ErrorCode.NotLeader);
    expect((e as ServerError).leaderIdHint).toBe(3);
    expect(isRetryable(e)).toBe(true);
  });

  it('RESOURCE_EXHAUSTED is OVERLOADED (retryable) from our server, a size error (not retried) from grpc-js', () => {
    const busy = errorFromGrpc(grpcError(status.RESOURCE_EXHAUSTED, { 'raftkv-error-code': 'OVERLOADED' }));
    expect(busy.code).toBe(ErrorCode.Overloaded);
    expect(isRetryable(busy)).toBe(true);
    const tooBig = errorFromGrpc({ code: status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (2000049 vs 1572864)', metadata: new Metadata() });
    expect(tooBig.code).toBe(ErrorCode.InvalidArgument);
    expect(tooBig.message).toMatch(/too large: Received message larger than max.*value 1048576/);
    expect(isRetryable(tooBig)).toBe(false);
  });

  it('an unknown trailer code falls back to the status', () => {
    expect(errorFromGrpc(grpcError(status.ABORTED, { 'raftkv-error-code': 'NONSENSE' })).code).toBe(ErrorCode.ConfChangeInProgress);
  });

  it('non-gRPC values become INTERNAL; client-side errors pass through and are never retried', () => {
    expect(errorFromGrpc(new Error('x')).code).toBe(ErrorCode.Internal);
    expect(errorFromGrpc('x').code).toBe(ErrorCode.Internal);
    const mine = new ClientOverloadedError(4);
    expect(errorFromGrpc(mine)).toBe(mine);
    for (const e of [mine, new ClientAbortedError(), new ClientTimeoutError(10, null)]) expect(isRetryable(e)).toBe(false);
  });
});
