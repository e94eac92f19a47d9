import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, StoppedError } from '../../src/common/errors.js';
import { EventType, WatchAbandonedError, WatchCompactedError, encodeCommand } from '../../src/kv/index.js';
import type { KvStore, WatchEvent, Watcher } from '../../src/kv/index.js';
import { applyAll, applyOne, b, delCmd, openStore, opPut, putCmd, s, tempDir, txnCmd } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: KvStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir, { watchHistoryEventsMax: 5_000, watcherBufferEventsMax: 100, watchBatchEventsMax: 64 });
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

const show = (e: WatchEvent) => `${e.type === EventType.Put ? 'PUT' : 'DEL'} ${s(e.kv.key)}@${e.kv.modRevision}`;

/** Collects events until `n` have arrived; fails after a deadline instead of hanging. */
async function take(w: Watcher, n: number, deadlineMs = 5_000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} events before the deadline`)), deadlineMs);
  });
  try {
    while (out.length < n) {
      const step = await Promise.race([w.next(), deadline]);
      if (step.done === true) break;
      out.push(...step.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

async function endError(w: Watcher): Promise<unknown> {
  try {
    while (!(await w.next()).done);
    return null;
  } catch (e) {
    return e;
  }
}

describe('watch', () => {
  it('replays from a past revision, then follows live writes, in order', async () => {
    await applyAll(store, [putCmd('a', '1'), putCmd('b', '1'), putCmd('a', '2'), delCmd({ key: 'a' })]);
    const w = store.watch({ key: b('a'), startRevision: 2 });
    const replay = await take(w, 2);
    expect(replay.map(show)).toEqual(['PUT a@3', 'DEL a@4']);
    expect(replay[0]).toMatchObject({ prevModRevision: 1, prevKv: { value: b('1') }, kv: { version: 2, createRevision: 1 } });
    expect(replay[1]).toMatchObject({ prevModRevision: 3, kv: { version: 0, value: new Uint8Array(0) } });
    const live = take(w, 1);
    await applyAll(store, [putCmd('b', '2'), putCmd('a', '3')]);
    expect((await live).map(show)).toEqual(['PUT a@6']);
    await w.return();
  });

  it('starts in the future when asked, skipping earlier revisions', async () => {
    const w = store.watch({ prefix: b(''), startRevision: 3 });
    const got = take(w, 2);
    await applyAll(store, [putCmd('a', '1'), putCmd('b', '1'), putCmd('c', '1'), putCmd('d', '1')]);
    expect((await got).map(show)).toEqual(['PUT c@3', 'PUT d@4']);
    await w.return();
  });

  it('watches a prefix across many writes without gaps, including txn revisions', async () => {
    const from = store.revision() + 1;
    const early = store.watch({ prefix: b('p/') });
    for (let i = 0; i < 300; i++) {
      await applyOne(store, i % 50 === 0 ? txnCmd({ success: [opPut(`p/t${i}`, 'x'), opPut(`q/${i}`, 'x'), opPut(`p/u${i}`, 'x')] }) : putCmd(i % 3 === 0 ? `q/${i}` : `p/${i}`, String(i)));
      if (i === 150) await take(early, 1); // drain a little so its buffer (100) does not overflow
    }
    const expected = [];
    for (let i = 0; i < 300; i++) {
      if (i % 50 === 0) expected.push(`p/t${i}`, `p/u${i}`);
      else if (i % 3 !== 0) expected.push(`p/${i}`);
    }
    const late = store.watch({ prefix: b('p/'), startRevision: from });
    const events = await take(late, expected.length);
    const revisions = events.map((e) => e.kv.modRevision);
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(events.map((e) => s(e.kv.key))).toEqual(expected);
    expect(events.every((e) => e.kv.modRevision >= from)).toBe(true);
    // The txn's two events share one revision and arrive together.
    expect(events[0]?.kv.modRevision).toBe(events[1]?.kv.modRevision);
    await late.return();
    await early.return();
  });

  it('replays from the persisted history beyond the in-memory one and after a restart', async () => {
    await store.close();
    store = await openStore(dir, { watchHistoryEventsMax: 10, watchBatchEventsMax: 7 });
    await applyAll(store, Array.from({ length: 30 }, (_, i) => putCmd(`k${i}`, `v${i}`)));
    // Revisions 1..20 are no longer in memory: they come from the db, then memory takes over.
    const all = await take(store.watch({ prefix: b(''), startRevision: 5 }), 26);
    expect(all.map((e) => e.kv.modRevision)).toEqual(Array.from({ length: 26 }, (_, i) => i + 5));
    await store.close();
    store = await openStore(dir);
    await applyOne(store, putCmd('k1', 'again'));
    const w = store.watch({ key: b('k1'), startRevision: 1 });
    const events = await take(w, 2);
    expect(events.map(show)).toEqual(['PUT k1@2', 'PUT k1@31']);
    expect(events[1]).toMatchObject({ prevModRevision: 2, prevKv: { value: b('v1') }, kv: { version: 2, createRevision: 2 } });
    await w.return();
  });

  it('cancels a watch that starts before the compacted revision', async () => {
    await applyAll(store, Array.from({ length: 10 }, (_, i) => putCmd(`k${i % 3}`, `v${i}`)));
    await store.apply(store.appliedIndex() + 1, encodeCommand({ op: { kind: 'compact', compact: { revision: 6 } }, requestId: null }));
    const err = await endError(store.watch({ prefix: b(''), startRevision: 5 }));
    expect(err).toBeInstanceOf(WatchCompactedError);
    expect(err).toMatchObject({ startRevision: 5, compactRevision: 6 });
    // The compacted revision itself can still be watched, as in etcd.
    expect((await take(store.watch({ prefix: b(''), startRevision: 6 }), 5)).map((e) => e.kv.modRevision)).toEqual([6, 7, 8, 9, 10]);
  });

  it('cancels a watcher still catching up when a compaction passes it, after the events it already got', async () => {
    await applyAll(store, Array.from({ length: 200 }, (_, i) => putCmd(`k${i}`, 'v')));
    const w = store.watch({ prefix: b(''), startRevision: 1 });
    const first = await w.next(); // one catch-up step: watchBatchEventsMax (64) events
    expect((first.value as WatchEvent[]).map((e) => e.kv.modRevision)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    await store.apply(store.appliedIndex() + 1, encodeCommand({ op: { kind: 'compact', compact: { revision: 150 } }, requestId: null }));
    const err = await endError(w);
    expect(err).toBeInstanceOf(WatchCompactedError);
    expect(err).toMatchObject({ startRevision: 65, compactRevision: 150 });
  });

  it('lets a watcher that falls behind its buffer catch up from history without losing events', async () => {
    const slow = store.watch({ prefix: b('') });
    await take(slow, 0); // reach "synced" with nothing to read yet
    const first = slow.next();
    await applyAll(store, Array.from({ length: 150 }, (_, i) => putCmd(`k${i}`, 'v')));
    const got: WatchEvent[] = (await first).value ?? [];
    got.push(...(await take(slow, 150 - got.length)));
    expect(got.map((e) => e.kv.modRevision)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    await applyOne(store, putCmd('after', 'v'));
    expect((await take(slow, 1)).map(show)).toEqual(['PUT after@151']);
    await slow.return();
    expect(store.stats().watchers).toBe(0);
  });

  it('ends on abort and on close', async () => {
    const ac = new AbortController();
    const w = store.watch({ key: b('x'), signal: ac.signal });
    const pending = endError(w);
    ac.abort();
    expect(await pending).toBeInstanceOf(AbortedError);
    const w2 = store.watch({ key: b('x') });
    const pending2 = endError(w2);
    await store.close();
    expect(await pending2).toBeInstanceOf(StoppedError);
    store = await openStore(dir);
  });

  it('is abandoned when a restore replaces the state', async () => {
    await applyAll(store, [putCmd('a', '1'), putCmd('b', '1')]);
    const snap = await store.snapshot();
    await applyOne(store, putCmd('a', '2'));
    const w = store.watch({ prefix: b(''), startRevision: 1 });
    expect((await take(w, 3)).map(show)).toEqual(['PUT a@1', 'PUT b@2', 'PUT a@3']);
    const pending = endError(w);
    await store.restore(snap.stream);
    const err = await pending;
    expect(err).toBeInstanceOf(WatchAbandonedError);
    expect(err).toMatchObject({ revision: 2 });
    expect(store.revision()).toBe(2);
  });
});
