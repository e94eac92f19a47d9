/**
 * The lock and lease workloads' checks on hand-made records: each must pass a correct record and
 * name the fault in a broken one (the fault runs then show they hold on real clusters).
 */
import { describe, expect, it } from 'vitest';
import { judge } from './lease-workload.js';
import { interleavings } from './lock-workload.js';

const lease = (over: Partial<Parameters<typeof judge>[0]> = {}): Parameters<typeof judge>[0] => ({
  client: 0, key: 'lease-c0-0', id: 7, ttlMs: 2_000, aliveSendsMs: [1_000], putAckedMs: 1_010,
  revokeSentMs: null, revokeAckedMs: null, reads: [], goneBeats: [], ...over,
});

describe('lease checks', () => {
  it('accept a key gone only after the TTL ran from the last acknowledged beat', () => {
    const r = lease({ aliveSendsMs: [1_000, 1_600], reads: [{ invokeMs: 2_000, completeMs: 2_005, present: true, node: 1 }, { invokeMs: 3_700, completeMs: 3_710, present: false, node: 2 }] });
    expect(judge(r)).toEqual([]);
  });

  it('catch a key read as gone before its TTL ran out', () => {
    const r = lease({ aliveSendsMs: [1_000, 1_600], reads: [{ invokeMs: 3_000, completeMs: 3_010, present: false, node: 2 }] });
    expect(judge(r)).toEqual([expect.stringMatching(/read as gone through node 2 590 ms before its TTL ran out/)]);
  });

  it('catch a keep-alive answered "gone" before the TTL ran out', () => {
    const r = lease({ goneBeats: [{ sendMs: 1_500, completeMs: 1_520 }] });
    expect(judge(r)).toEqual([expect.stringMatching(/answered gone to a keep-alive/)]);
  });

  it('catch a key still present after an acknowledged revoke, and excuse an early absence after a revoke was sent', () => {
    const r = lease({
      revokeSentMs: 1_200, revokeAckedMs: 1_250,
      reads: [{ invokeMs: 1_300, completeMs: 1_310, present: false, node: 1 }, { invokeMs: 1_400, completeMs: 1_420, present: true, node: 3 }],
    });
    expect(judge(r)).toEqual([expect.stringMatching(/read as present through node 3 150 ms after its revoke/)]);
  });
});

describe('lock checks', () => {
  it('accept sessions whose fenced writes form unbroken runs in revision order', () => {
    expect(interleavings([
      { session: 'a', revision: 3, client: 0 }, { session: 'a', revision: 5, client: 0 },
      { session: 'b', revision: 9, client: 1 }, { session: 'c', revision: 12, client: 2 }, { session: 'c', revision: 13, client: 2 },
    ])).toEqual([]);
  });

  it('catch a session writing again after another session wrote', () => {
    const v = interleavings([
      { session: 'a', revision: 3, client: 0 }, { session: 'b', revision: 4, client: 1 }, { session: 'a', revision: 6, client: 0 },
    ]);
    expect(v).toEqual([expect.stringMatching(/session a wrote at revision 6 after another session's write at revision 4/)]);
  });
});
