import { describe, expect, it } from 'vitest';
import { isStarted, learnerInSync, nextMemberId, parsePeerUrls, quorumOf, STARTED_CONTACT_MS } from '../../src/service/etcd/membership.js';
import { EtcdError } from '../../src/service/etcd/errors.js';
import type { ServiceNodeStats } from '../../src/service/node-port.js';

const badUrls = (urls: string[]): string => {
  try {
    parsePeerUrls(urls);
    return 'accepted';
  } catch (e) {
    return e instanceof EtcdError ? e.message : `other: ${(e as Error).message}`;
  }
};

describe("etcd's member rules over raft", () => {
  it('takes one http(s) host:port peer URL as the raft address', () => {
    expect(parsePeerUrls(['http://127.0.0.1:7001'])).toBe('127.0.0.1:7001');
    expect(parsePeerUrls(['https://node-4.example:7001/'])).toBe('node-4.example:7001');
    expect(parsePeerUrls(['http://10.0.0.1:7001', 'http://10.0.0.1:7001'])).toBe('10.0.0.1:7001');
  });

  it.each([[[]], [['127.0.0.1:7001']], [['ftp://127.0.0.1:7001']], [['http://127.0.0.1']], [['http://127.0.0.1:7001/x']], [['http://127.0.0.1:7001?a=1']], [['not a url']]])('refuses %j as etcd does', (urls) => {
    expect(badUrls(urls)).toBe('etcdserver: given member URLs are invalid');
  });

  it('refuses two different peer URLs: a raftkv member has one raft address', () => {
    expect(badUrls(['http://10.0.0.1:7001', 'http://10.0.0.2:7001'])).toMatch(/^other: .*exactly one peer URL/);
  });

  it('gives a new member the next id above every id in use', () => {
    expect(nextMemberId([])).toBe(1);
    expect(nextMemberId([1, 2, 3])).toBe(4);
    expect(nextMemberId([3, 9, 2])).toBe(10);
  });

  it('counts started members and quorums as the strict reconfiguration check does', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
    const s = { lastContactMs: new Map([[2, 10], [3, STARTED_CONTACT_MS + 1]]) } as Pick<ServiceNodeStats, 'lastContactMs'>;
    expect([1, 2, 3, 4].map((id) => isStarted(s, 1, id))).toEqual([true, true, false, false]);
  });

  it("promotes a learner only within 10% of the leader's match index", () => {
    const stats = (learnerMatch: number): Pick<ServiceNodeStats, 'raft'> => ({
      raft: { lastIndex: 1000, progress: new Map([[1, { match: 1000 }], [4, { match: learnerMatch }]]) } as unknown as ServiceNodeStats['raft'],
    });
    expect(learnerInSync(stats(900), 1, 4)).toBe(true);
    expect(learnerInSync(stats(899), 1, 4)).toBe(false);
    expect(learnerInSync(stats(1000), 1, 5)).toBe(false);
  });
});
