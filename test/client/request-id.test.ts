import { describe, expect, it } from 'vitest';
import { formatRequestId, parseRequestId } from '../../src/common/request-id.js';
import { WriteSessions } from '../../src/client/sessions.js';

describe('request ids as gRPC metadata', () => {
  it('round-trips every id the client makes, slashes in the client id included', () => {
    const sessions = new WriteSessions('3f0c2a9e-4b1d-4c55-9a51-0b7e7f1f2d10', 4);
    const ids = [sessions.acquire(), sessions.acquire(), sessions.acquire()];
    expect(ids.map(formatRequestId)).toEqual([
      '3f0c2a9e-4b1d-4c55-9a51-0b7e7f1f2d10/1', '3f0c2a9e-4b1d-4c55-9a51-0b7e7f1f2d10/1/1', '3f0c2a9e-4b1d-4c55-9a51-0b7e7f1f2d10/2/1',
    ]);
    for (const id of ids) expect(parseRequestId(formatRequestId(id))).toEqual(id);
  });

  it.each(['', 'abc', '/1', 'abc/', 'abc/0', 'abc/01', 'abc/x', 'has space/1', `${'a'.repeat(129)}/1`, 'abc/99999999999999999'])('%j is not a request id', (v) => {
    expect(parseRequestId(v)).toBeNull();
  });
});
