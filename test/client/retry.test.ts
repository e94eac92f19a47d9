import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/common/errors.js';
import { ClientAbortedError, ClientTimeoutError, RaftkvClient, RetriesExhaustedError, UnimplementedError } from '../../src/client/index.js';
import { deadAddress, startScriptedServer, type ScriptedServer } from './scripted-server.js';

const FAST = { backoffBaseMs: 1, backoffCapMs: 5 };
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(endpointsBefore: string[] = []): Promise<{ server: ScriptedServer; client: RaftkvClient }> {
  const server = await startScriptedServer();
  cleanup.push(() => server.stop());
  const client = new RaftkvClient({ endpoints: [...endpointsBefore, server.address], clientId: 'cid', retry: FAST });
  cleanup.push(() => client.close());
  return { server, client };
}

describe('client retries against a real gRPC server', () => {
  it('a write retried after UNAVAILABLE carries the same request id; the next write a new seq', async () => {
    const { server, client } = await setup();
    server.failures = [{ code: status.UNAVAILABLE, raftkvCode: 'LEADERSHIP_LOST' }, { code: status.UNAVAILABLE }];
    await client.put('k', 'v1');
    await client.put('k', 'v2');
    // The request id travels as gRPC metadata (etcd's PutRequest has no field for it).
    expect(server.putIds).toEqual(['cid/1', 'cid/1', 'cid/1', 'cid/2']);
  });

  it('non-retryable errors surface at once with their code', async () => {
    const { server, client } = await setup();
    server.failures = [{ code: status.INVALID_ARGUMENT, raftkvCode: 'INVALID_ARGUMENT' }];
    await expect(client.put('k', 'v')).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    expect(server.puts).toHaveLength(1);
  });

  it('fails over from a dead endpoint to a live one', async () => {
    const { server, client } = await setup([await deadAddress()]);
    const r = await client.get('a', { consistency: 'stale' });
    expect(r.kv?.value.toString()).toBe('v');
    expect(server.gets).toHaveLength(1);
  });

  it('gives up after attemptsMax retryable failures', async () => {
    const server = await startScriptedServer();
    cleanup.push(() => server.stop());
    const client = new RaftkvClient({ endpoints: [server.address], retry: { ...FAST, attemptsMax: 3 } });
    cleanup.push(() => client.close());
    server.failures = Array.from({ length: 10 }, () => ({ code: status.UNAVAILABLE, raftkvCode: 'NO_LEADER' }));
    const err = await client.get('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).code).toBe(ErrorCode.NoLeader);
    expect(server.gets).toHaveLength(3);
  });

  it('a bad clientId is refused', async () => {
    expect(() => new RaftkvClient({ endpoints: ['127.0.0.1:1'], clientId: 'has space' })).toThrow(/bad clientId/);
  });

  it('UNIMPLEMENTED surfaces as UnimplementedError (FAILED_PRECONDITION) at once', async () => {
    const { client } = await setup();
    const err = await client.compact(3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnimplementedError);
    expect((err as UnimplementedError).code).toBe(ErrorCode.FailedPrecondition);
    expect((err as Error).message).toMatch(/^not supported by the server: /);
  });

  it('a dead cluster fails within the deadline', async () => {
    const client = new RaftkvClient({ endpoints: [await deadAddress()], retry: { backoffBaseMs: 20, backoffCapMs: 50, attemptsMax: 1000 } });
    cleanup.push(() => client.close());
    const t0 = Date.now();
    const err = await client.get('a', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientTimeoutError);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('an abort cancels the call', async () => {
    const { server, client } = await setup();
    server.failures = Array.from({ length: 1000 }, () => ({ code: status.UNAVAILABLE }));
    const ac = new AbortController();
    const p = client.get('a', { signal: ac.signal, timeoutMs: 60_000 });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(ClientAbortedError);
  });
});
