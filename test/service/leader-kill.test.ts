import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './cluster.js';
import { put, range } from './kv.js';

/** Acknowledged writes wanted before the kill, and after it through the survivors. */
const ACKS_BEFORE = 40;
const ACKS_AFTER = 40;
const WRITERS = 3;

describe('SIGKILL of the leader under a write load', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start(3);
  }, 40_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('the survivors answer again and no acknowledged write is lost', async () => {
    const leader = await c.leaderId();
    const acked = new Map<string, string>();
    let killed = false;
    let acksAfterKill = 0;
    let stop = false;
    let seq = 0;
    const errors = new Map<number, number>();

    const writer = async (w: number): Promise<void> => {
      let turn = w;
      while (!stop) {
        const live = c.live();
        const via = live[turn++ % live.length]!;
        const key = `load/${w}/${seq++}`;
        try {
          await put(via.kv, key, key, 2000);
          acked.set(key, key);
          if (killed) acksAfterKill++;
        } catch (e) {
          const code = (e as ServiceError).code;
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    try {
      await c.waitFor(() => acked.size >= ACKS_BEFORE, 10_000, `${ACKS_BEFORE} acknowledged writes`);
      await c.kill(leader, 'SIGKILL');
      killed = true;
      await c.waitFor(() => acksAfterKill >= ACKS_AFTER, 15_000, `${ACKS_AFTER} writes acknowledged by the survivors`);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    // Errors while the leader was gone are retryable kinds, never INTERNAL or INVALID_ARGUMENT.
    for (const code of errors.keys()) expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED]).toContain(code);

    const survivor = c.live()[0]!;
    const stored = new Map<string, string>();
    let startAfter: Buffer = Buffer.alloc(0);
    for (;;) {
      const page = await range(survivor.kv, 'load/', 5000, { startAfter });
      for (const kv of page.kvs) stored.set(kv.key.toString(), kv.value.toString());
      if (!page.more) break;
      startAfter = page.nextStartAfter;
    }
    const lost = [...acked.keys()].filter((k) => stored.get(k) !== acked.get(k));
    expect(lost).toEqual([]);
    expect(await c.leaderId()).not.toBe(leader);
  }, 40_000);
});
