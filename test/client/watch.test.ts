import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchResponse } from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { Event_EventType } from '../../src/gen/etcd/mvccpb/kv.js';
import { RaftkvClient, WatchCompactedError, type WatchBatch } from '../../src/client/index.js';
import { startScriptedServer } from './scripted-server.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function put(rev: number): WatchResponse {
  return WatchResponse.fromPartial({
    header: { revision: rev },
    events: [{ type: Event_EventType.Put, kv: { key: Buffer.from('k'), value: Buffer.from(`v${rev}`), modRevision: rev, version: 1, createRevision: rev } }],
  });
}

describe('watch', () => {
  it('resumes after the last delivered revision when a stream fails', async () => {
    const server = await startScriptedServer();
    cleanup.push(() => server.stop());
    server.watchScript = (req, call) => {
      call.write(WatchResponse.fromPartial({ header: { revision: 2 }, created: true }));
      if (req.startRevision === 3) {
        call.write(put(3));
        call.write(put(5));
        call.emit('error', { code: status.UNAVAILABLE, details: 'node stopping' });
      } else {
        call.write(put(req.startRevision));
      }
    };
    const client = new RaftkvClient({ endpoints: [server.address], retry: { backoffBaseMs: 1, backoffCapMs: 2 } });
    cleanup.push(() => client.close());
    const ac = new AbortController();
    const got: WatchBatch[] = [];
    for await (const b of client.watch('k', { fromRevision: 3, signal: ac.signal })) {
      got.push(b);
      if (got.length === 3) break;
    }
    expect(got.map((b) => b.events[0]?.kv.modRevision)).toEqual([3, 5, 6]);
    expect(server.watches.map((w) => w.startRevision)).toEqual([3, 6]);
  });

  it('a compacted start revision ends the watch with WatchCompactedError', async () => {
    const server = await startScriptedServer();
    cleanup.push(() => server.stop());
    server.watchScript = (_req, call) => {
      call.write(WatchResponse.fromPartial({ created: true }));
      call.write(WatchResponse.fromPartial({ canceled: true, compactRevision: 42, cancelReason: 'etcdserver: mvcc: required revision has been compacted' }));
    };
    const client = new RaftkvClient({ endpoints: [server.address] });
    cleanup.push(() => client.close());
    const iter = client.watch({ prefix: 'p/' }, { fromRevision: 1 });
    const err = await (async () => { for await (const _ of iter) { /* none */ } })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchCompactedError);
    expect((err as WatchCompactedError).compactRevision).toBe(42);
    expect(server.watches[0]?.key.toString()).toBe('p/');
    expect(server.watches[0]?.rangeEnd.toString()).toBe('p0');
  });
});
