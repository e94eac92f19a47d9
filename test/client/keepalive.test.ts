import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { LeaseExpiredError, RaftkvClient, RetriesExhaustedError, type KeepAliveResult } from '../../src/client/index.js';
import { startScriptedServer, type ScriptedServer } from './scripted-server.js';

/** Lease keep-alive streams against a real gRPC server that follows a script. */

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

type KeepAliveCall = ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>;

/** Streams 2..`broken`+1 fail at once; the others answer every request with TTL 3. */
function flaky(broken: number): (call: KeepAliveCall, n: number) => void {
  return (call, n) => {
    if (n >= 2 && n <= broken + 1) {
      call.emit('error', { code: status.UNAVAILABLE, details: 'node stopping' });
      return;
    }
    call.on('data', (r: LeaseKeepAliveRequest) => {
      call.write({ ID: r.ID, TTL: 3 });
      // The first stream dies after its first answer.
      if (n === 1) call.emit('error', { code: status.UNAVAILABLE, details: 'connection reset' });
    });
  };
}

async function setup(): Promise<{ server: ScriptedServer; client: RaftkvClient }> {
  const server = await startScriptedServer();
  cleanup.push(() => server.stop());
  const client = new RaftkvClient({ endpoints: [server.address], retry: { attemptsMax: 2, backoffBaseMs: 5, backoffCapMs: 10 } });
  cleanup.push(() => client.close());
  return { server, client };
}

async function collect(iter: AsyncIterable<KeepAliveResult>, n: number): Promise<KeepAliveResult[]> {
  const out: KeepAliveResult[] = [];
  for await (const r of iter) {
    out.push(r);
    if (out.length === n) break;
  }
  return out;
}

describe('lease keep-alive', () => {
  it('gives up after attemptsMax failed streams by default', async () => {
    const { server, client } = await setup();
    server.keepAliveScript = flaky(5);
    const err = await collect(client.leaseKeepAlive(7, { intervalMs: 10 }), 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    // The first stream's failure (after its answer) and the second's are 2 in a row.
    expect(server.keepAliveStreams).toBe(2);
  });

  it('with keepTryingMs, reopens failed streams until a renewal gets through', async () => {
    const { server, client } = await setup();
    server.keepAliveScript = flaky(5);
    const got = await collect(client.leaseKeepAlive(7, { intervalMs: 10, keepTryingMs: 10_000 }), 2);
    expect(got).toEqual([{ id: 7, ttlSeconds: 3 }, { id: 7, ttlSeconds: 3 }]);
    expect(server.keepAliveStreams).toBe(7);
  });

  it('TTL 0 (the lease is gone) ends it with LeaseExpiredError, at once', async () => {
    const { server, client } = await setup();
    server.keepAliveScript = (call) => call.on('data', (r: LeaseKeepAliveRequest) => call.write({ ID: r.ID, TTL: 0 }));
    await expect(collect(client.leaseKeepAlive(7, { keepTryingMs: 10_000 }), 1)).rejects.toBeInstanceOf(LeaseExpiredError);
    await expect(client.leaseKeepAliveOnce(7)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(server.keepAliveStreams).toBe(2);
  });
});
