import { describe, expect, it } from 'vitest';
import { WriteSessions } from '../../src/client/sessions.js';
import { ClientOverloadedError } from '../../src/client/index.js';

describe('write sessions (request ids)', () => {
  it('sequential writes share one client id with increasing seqs', () => {
    const s = new WriteSessions('c', 4);
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const id = s.acquire();
      ids.push(id);
      s.release(id);
    }
    expect(ids).toEqual([{ clientId: 'c', seq: 1 }, { clientId: 'c', seq: 2 }, { clientId: 'c', seq: 3 }]);
    expect(s.sessionsCreated).toBe(1);
  });

  it('concurrent writes never share a client id, and seqs per id only grow', () => {
    const s = new WriteSessions('c', 8);
    const a = s.acquire();
    const b = s.acquire();
    expect(a.clientId).not.toBe(b.clientId);
    s.release(b);
    s.release(a);
    const lastSeq = new Map<string, number>();
    for (let round = 0; round < 50; round++) {
      const held = [s.acquire(), s.acquire(), s.acquire()];
      expect(new Set(held.map((h) => h.clientId)).size).toBe(3);
      for (const h of held) {
        expect(h.seq).toBeGreaterThan(lastSeq.get(h.clientId) ?? 0);
        lastSeq.set(h.clientId, h.seq);
      }
      for (const h of held.reverse()) s.release(h);
    }
    expect(s.sessionsCreated).toBe(3);
  });

  it('refuses more concurrent writes than the limit', () => {
    const s = new WriteSessions('c', 2);
    s.acquire();
    s.acquire();
    expect(() => s.acquire()).toThrow(ClientOverloadedError);
  });
});
