import { describe, expect, it } from 'vitest';
import { NotLeaderError } from '../../src/common/errors.js';
import { ReadWaiters } from '../../src/node/request-waiters.js';

const ROUND_TICKS = 5;

/** ReadWaiters plus a record of every round it asked the core for. */
function setup(): { reads: ReadWaiters; requests: Uint8Array[]; start: () => boolean } {
  const reads = new ReadWaiters(100, 0, ROUND_TICKS);
  const requests: Uint8Array[] = [];
  return { reads, requests, start: () => reads.startRound((ctx) => requests.push(ctx)) };
}

/** Settled state of a promise without waiting on it: 'pending', or the value / error. */
async function peek<T>(p: Promise<T>): Promise<{ state: 'pending' } | { state: 'ok'; value: T } | { state: 'err'; error: unknown }> {
  const pending = Symbol('pending');
  const r = await Promise.race([p.then((value) => ({ state: 'ok' as const, value }), (error: unknown) => ({ state: 'err' as const, error })), Promise.resolve(pending)]);
  return r === pending ? { state: 'pending' } : (r as { state: 'ok'; value: T } | { state: 'err'; error: unknown });
}

describe('ReadWaiters: one ReadIndex round at a time, shared by every read queued for it', () => {
  it('reads that arrive while a round is in flight share the next round', async () => {
    const { reads, requests, start } = setup();
    const first = reads.add(undefined);
    expect(start()).toBe(true);
    const later = Array.from({ length: 50 }, () => reads.add(undefined));
    expect(start()).toBe(false); // the first round is still out
    expect(requests).toHaveLength(1);

    reads.onReadState(requests[0]!, 7);
    reads.release(7);
    expect(await first).toBe(7);
    for (const p of later) expect((await peek(p)).state).toBe('pending'); // not answered by a round that began before them

    expect(start()).toBe(true);
    expect(requests).toHaveLength(2);
    reads.onReadState(requests[1]!, 9);
    reads.release(8);
    for (const p of later) expect((await peek(p)).state).toBe('pending'); // answered, not yet applied
    reads.release(9);
    expect(await Promise.all(later)).toEqual(later.map(() => 9));
    expect(reads.roundsStarted).toBe(2);
    expect(reads.size).toBe(0);
  });

  it('ignores answers to contexts other than the round in flight', async () => {
    const { reads, requests, start } = setup();
    const p = reads.add(undefined);
    start();
    reads.onReadState(new Uint8Array(8), 3); // a previous incarnation's id
    reads.onReadState(new Uint8Array([1, 2]), 3); // not a read id at all
    reads.release(100);
    expect((await peek(p)).state).toBe('pending');
    reads.onReadState(requests[0]!, 4);
    reads.release(100);
    expect(await p).toBe(4);
  });

  it('gives up a round unanswered for roundTicksMax ticks; its reads go first into a new round', async () => {
    const { reads, requests, start } = setup();
    const lost = reads.add(undefined);
    start();
    const queued = reads.add(undefined);
    for (let t = 1; t < ROUND_TICKS; t++) expect(reads.tick()).toBe(false);
    expect(reads.tick()).toBe(true);
    expect(reads.roundInFlight).toBe(false);
    expect(start()).toBe(true);
    reads.onReadState(requests[0]!, 5); // the lost round's late answer: ignored
    reads.release(100);
    expect((await peek(lost)).state).toBe('pending');
    reads.onReadState(requests[1]!, 6);
    reads.release(6);
    expect(await lost).toBe(6);
    expect(await queued).toBe(6);
  });

  it('a leader change fails the round in flight; queued reads still get their round', async () => {
    const { reads, requests, start } = setup();
    const inflight = reads.add(undefined);
    start();
    const queued = reads.add(undefined);
    reads.rejectUnanswered(new NotLeaderError(2));
    await expect(inflight).rejects.toBeInstanceOf(NotLeaderError);
    expect(start()).toBe(true);
    reads.onReadState(requests[1]!, 2);
    reads.release(2);
    expect(await queued).toBe(2);
  });

  it('a round the core refuses fails its reads; aborted reads are left out of rounds', async () => {
    const { reads, requests, start } = setup();
    const ac = new AbortController();
    const aborted = reads.add(ac.signal);
    ac.abort();
    await expect(aborted).rejects.toThrow(/aborted/);
    expect(start()).toBe(false); // nothing left to ask for
    expect(requests).toHaveLength(0);

    const refused = reads.add(undefined);
    expect(reads.startRound(() => { throw new NotLeaderError(0); })).toBe(false);
    await expect(refused).rejects.toBeInstanceOf(NotLeaderError);
    expect(reads.roundInFlight).toBe(false);
    expect(reads.size).toBe(0);
  });

  it('rejectAll fails queued, in-flight and answered reads', async () => {
    const { reads, requests, start } = setup();
    const answered = reads.add(undefined);
    start();
    reads.onReadState(requests[0]!, 10);
    const inflight = reads.add(undefined);
    start();
    const queued = reads.add(undefined);
    reads.rejectAll(new Error('stopped'));
    for (const p of [answered, inflight, queued]) await expect(p).rejects.toThrow('stopped');
    expect(reads.size).toBe(0);
  });
});
