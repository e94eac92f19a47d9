/**
 * What the server says when a call fails for reasons outside the handler: the deadline that
 * applied, and grpc-js failures on the forwarding hop turned into our typed errors. Real gRPC
 * servers and channels on loopback.
 */
import { Client, credentials, Metadata, Server, ServerCredentials, status, type ServiceError, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callScope } from '../../src/service/call-signal.js';
import { ERROR_CODE_HEADER, toStatus } from '../../src/service/status.js';
import { deadAddress } from './scripted-server.js';

const SERVER_CAP_MS = 30_000;
const identity = (b: Buffer): Buffer => b;
let server: Server;
let address = '';
const shutdown = new AbortController();
/** Why each call's scope ended, as the handler saw it. */
const reasons: string[] = [];

beforeAll(async () => {
  server = new Server();
  server.addService({
    Hang: {
      path: '/test.Hang/Hang', requestStream: false, responseStream: false,
      requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
    },
  }, {
    Hang: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      // Work that never finishes by itself: only the call's scope ends it.
      const scope = callScope(call, SERVER_CAP_MS, shutdown.signal);
      scope.signal.addEventListener('abort', () => {
        reasons.push((scope.signal.reason as Error).message);
        scope.dispose();
        callback(toStatus(scope.signal.reason) as ServiceError);
      }, { once: true });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p)));
  });
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  shutdown.abort();
  server.forceShutdown();
});

async function unary(addr: string, deadline: number | undefined): Promise<ServiceError> {
  const client = new Client(addr, credentials.createInsecure());
  try {
    return await new Promise<ServiceError>((resolve, reject) => {
      client.makeUnaryRequest('/test.Hang/Hang', identity, identity, Buffer.alloc(0), new Metadata(), deadline === undefined ? {} : { deadline }, (err) => {
        if (err) resolve(err);
        else reject(new Error('the call succeeded'));
      });
    });
  } finally {
    client.close();
  }
}

describe('server-side errors', () => {
  it('a call with a 500 ms deadline times out quoting the caller\'s deadline, not the server\'s cap', async () => {
    // grpc-js cancels a real call at its deadline, usually just before the scope's own timer fires,
    // so the scope is driven directly here: a call whose deadline is 500 ms away and that never cancels.
    const call = Object.assign(new EventEmitter(), { getDeadline: () => new Date(Date.now() + 500) });
    const scope = callScope(call, SERVER_CAP_MS, shutdown.signal);
    const reason = await new Promise<Error>((resolve) => scope.signal.addEventListener('abort', () => resolve(scope.signal.reason as Error), { once: true }));
    scope.dispose();
    expect(reason).toMatchObject({ code: 'TIMEOUT' });
    expect(reason.message).toMatch(/caller's deadline \(\d+ ms after it arrived here\)/);
    expect(reason.message).not.toContain(String(SERVER_CAP_MS));
    const ms = Number(/\((\d+) ms/.exec(reason.message)?.[1]);
    expect(ms).toBeGreaterThan(400);
    expect(ms).toBeLessThanOrEqual(500);
    // Without a caller deadline, the server's cap is what applies, and what the message names.
    const capped = callScope(Object.assign(new EventEmitter(), { getDeadline: () => Infinity }), 50, shutdown.signal);
    const r2 = await new Promise<Error>((resolve) => capped.signal.addEventListener('abort', () => resolve(capped.signal.reason as Error), { once: true }));
    capped.dispose();
    expect(r2.message).toBe("request did not finish within the server's limit of 50 ms");
  });

  it('the server answers a hung call at the caller\'s deadline', async () => {
    const t0 = Date.now();
    const err = await unary(address, Date.now() + 500);
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(SERVER_CAP_MS);
    await expect.poll(() => reasons.length, { timeout: 5000 }).toBe(1);
    expect(reasons[0]).not.toContain(String(SERVER_CAP_MS));
  });

  it('a grpc-js failure on the forwarding hop becomes our typed error, without grpc-js\'s texts', async () => {
    const err = await unary(await deadAddress(), Date.now() + 5000);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/Resolution note/); // what grpc-js says, and what used to reach the caller
    const out = toStatus(err);
    expect(out.code).toBe(status.UNAVAILABLE);
    expect(out.metadata?.get(ERROR_CODE_HEADER)).toEqual(['UNAVAILABLE']);
    expect(out.details).toMatch(/^could not reach the leader to forward the request/);
    expect(out.details).not.toMatch(/Resolution note/);
  });
});
