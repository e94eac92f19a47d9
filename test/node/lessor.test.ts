import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { NotLeaderError } from '../../src/common/errors.js';
import { encodeCommand } from '../../src/kv/index.js';
import type { Command, KvStore } from '../../src/kv/index.js';
import { Lessor } from '../../src/node/lessor.js';
import { systemTimers } from '../../src/common/timers.js';
import { b, openStore, tempDir } from '../kv/helpers.js';

/** A real store, a clock the test moves, and a "raft" that applies proposals at once. */
async function setup(): Promise<{ st: KvStore; lessor: Lessor; clock: { t: number }; role: { leader: boolean; fire: () => void }; apply: (c: Command) => Promise<unknown>; close: () => Promise<void> }> {
  const t = await tempDir();
  const st = await openStore(t.dir);
  let index = 0;
  const apply = (c: Command): Promise<unknown> => st.apply(++index, encodeCommand(c));
  const clock = { t: 0 };
  const listeners = new Set<() => void>();
  const role = { leader: false, fire: () => listeners.forEach((l) => l()) };
  const lessor = new Lessor(
    {
      clock: { nowMs: () => clock.t },
      timers: systemTimers,
      leases: () => st.leases(),
      onLeaseChange: (l) => st.onLeaseChange(l),
      isLeader: () => role.leader,
      onLeaderChange: (l) => (listeners.add(l), () => listeners.delete(l)),
      proposeRevoke: async (id) => void (await apply({ op: { kind: 'leaseRevoke', leaseRevoke: { id } }, requestId: null })),
      logger: pino({ level: 'silent' }),
    },
    { tickMs: 100, electionTicks: 10 },
  );
  return { st, lessor, clock, role, apply, close: async () => (lessor.stop(), await st.close(), await t.cleanup()) };
}

const until = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((r) => setImmediate(r));
  }
};

describe('Lessor', () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
  });

  it('follows the leader role: a follower neither renews nor expires; the leader expires by proposing the revocation', async () => {
    const s = await setup();
    close = s.close;
    expect(s.lessor.minTtlSeconds).toBe(2);
    await s.apply({ op: { kind: 'leaseGrant', leaseGrant: { id: 42, ttlSeconds: 3 } }, requestId: null });
    await s.apply({ op: { kind: 'put', put: { key: b('k'), value: b('v'), prevKv: false, lease: 42 } }, requestId: null });
    expect(() => s.lessor.renew(42)).toThrow(NotLeaderError);
    s.clock.t = 1e9;
    s.lessor.check();
    expect(s.st.lease(42)).not.toBeNull();

    // Becoming leader at t: TTL (3 s) + election timeout (1 s) from now.
    s.role.leader = true;
    s.role.fire();
    const t0 = s.clock.t;
    expect(s.lessor.timeToLive(42)).toEqual({ remainingSeconds: 4, grantedSeconds: 3 });
    s.clock.t = t0 + 3_999;
    s.lessor.check();
    expect(s.lessor.renew(42)).toBe(3); // kept alive: runs 3 s from here
    s.clock.t = t0 + 3_999 + 2_999;
    s.lessor.check();
    await new Promise((r) => setImmediate(r));
    expect(s.st.lease(42)).not.toBeNull();
    s.clock.t = t0 + 3_999 + 3_000;
    s.lessor.check();
    await until(() => s.st.lease(42) === null);
    expect((await s.st.get(b('k'))).kv).toBeNull();
    expect(s.lessor.list()).toEqual([]);
    expect(s.lessor.renew(42)).toBeNull();
    expect(s.lessor.timeToLive(42)).toBeNull();
  });

  it('demotes on losing leadership: nothing expires until it leads again, and then with a full TTL', async () => {
    const s = await setup();
    close = s.close;
    s.role.leader = true;
    s.role.fire();
    await s.apply({ op: { kind: 'leaseGrant', leaseGrant: { id: 1, ttlSeconds: 2 } }, requestId: null });
    s.role.leader = false;
    s.clock.t = 60_000;
    s.lessor.check();
    expect(s.lessor.list()).toEqual([1]);
    s.role.leader = true; // noticed by check() even without an event
    s.lessor.check();
    s.clock.t = 62_999;
    s.lessor.check();
    await new Promise((r) => setImmediate(r));
    expect(s.st.lease(1)).not.toBeNull();
    s.clock.t = 63_000;
    s.lessor.check();
    await until(() => s.st.lease(1) === null);
  });
});
