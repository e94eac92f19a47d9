/**
 * A follower forwards a write to the leader, and the leader stops answering (SIGSTOP) before it
 * replies. Once the follower knows the new leader it must not keep the caller waiting out its
 * deadline: a write with a request id is re-sent to the new leader (the dedupe table applies it at
 * most once) and succeeds; one without a request id fails at once as outcome-unknown.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consistency } from '../../src/gen/raftkv/v1/kv.js';
import { TestCluster, unary } from './cluster.js';
import { get } from './kv.js';

/** Far longer than an election: an answer before it proves the follower did not wait it out. */
const CALLER_DEADLINE_MS = 20_000;

describe('a forwarded write when the leader changes under it', () => {
  let c: TestCluster;
  let paused: number | null = null;

  beforeAll(async () => {
    c = await TestCluster.start(3);
  }, 40_000);

  afterAll(async () => {
    if (paused !== null) c.node(paused).proc?.kill('SIGCONT');
    await c?.stop();
  });

  it('is re-sent to the new leader with a request id, and fails fast as outcome-unknown without one', async () => {
    const leader = await c.leaderId();
    const follower = c.live().find((n) => n.id !== leader)!;
    const put = (key: string, withId: boolean): Promise<{ ok: boolean; code?: number; ms: number }> => {
      const t0 = performance.now();
      const req = { key: Buffer.from(key), value: Buffer.from('v'), prevKv: false, ...(withId ? { requestId: { clientId: `test-${key}`, seq: 1 } } : {}) };
      return unary((cb) => follower.kv.put(req, new Metadata(), { deadline: Date.now() + CALLER_DEADLINE_MS }, cb)).then(
        () => ({ ok: true, ms: performance.now() - t0 }),
        (e: unknown) => ({ ok: false, code: (e as ServiceError).code, ms: performance.now() - t0 }),
      );
    };
    // Warm the follower's channel to the leader so both writes are in flight to it when it stops.
    await put('warm', true);
    c.node(leader).proc!.kill('SIGSTOP');
    paused = leader;
    const [withId, withoutId] = await Promise.all([put('with-id', true), put('without-id', false)]);

    expect(withId.ok).toBe(true);
    expect(withId.ms).toBeLessThan(CALLER_DEADLINE_MS / 2);
    expect(withoutId.ok).toBe(false);
    expect(withoutId.code).toBe(status.DEADLINE_EXCEEDED);
    expect(withoutId.ms).toBeLessThan(CALLER_DEADLINE_MS / 2);
    // The re-sent write applied, once, on the new leader's cluster.
    const r = await get(follower.kv, 'with-id', Consistency.CONSISTENCY_LINEARIZABLE, 5000);
    expect(r.kv?.value.toString()).toBe('v');
    expect(r.kv?.version).toBe(1);
  }, 60_000);
});
