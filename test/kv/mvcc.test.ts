import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/common/random.js';
import { FutureRevisionError, RevisionCompactedError, encodeCommand } from '../../src/kv/index.js';
import type { Command, CommandResult, KeyValue, KvStore, RangeOp } from '../../src/kv/index.js';
import { applyOne, b, delCmd, openStore, opPut, putCmd, rangeOp, tempDir, txnCmd } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: KvStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir);
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const show = (kv: KeyValue): string => `${hex(kv.key)}=${Buffer.from(kv.value).toString()}@${kv.createRevision}/${kv.modRevision}/${kv.version}/${kv.lease ?? 0}`;
const compactCmd = (revision: number): Command => ({ op: { kind: 'compact', compact: { revision } }, requestId: null });

// Keys that stress the version-key escaping: prefixes of each other, zero bytes, 0xff bytes.
const KEYS = ['a', 'a\0', 'a\0\0', 'a\x01', 'ab', 'b', 'b\xff', 'c'].map((k) => new Uint8Array(Buffer.from(k, 'latin1')));
const RANGES: RangeOp[] = [
  rangeOp(),
  rangeOp({ limit: 2 }),
  rangeOp({ limit: 3, keysOnly: true }),
  rangeOp({ countOnly: true }),
  { ...rangeOp(), prefix: KEYS[0]! },
  { ...rangeOp(), prefix: KEYS[1]! },
  { ...rangeOp(), start: KEYS[1]!, end: KEYS[5]! },
  { ...rangeOp({ limit: 2 }), start: KEYS[0]!, startAfter: KEYS[2]! },
];

function randomCommand(rnd: SeededRandom): Command {
  const key = (): Uint8Array => KEYS[rnd.int(KEYS.length)]!;
  const roll = rnd.int(10);
  const value = new Uint8Array(Buffer.from(`v${rnd.int(1000)}`));
  if (roll < 5) return { op: { kind: 'put', put: { key: key(), value, prevKv: false } }, requestId: null };
  if (roll < 7) return { op: { kind: 'delete', delete: { key: key(), rangeEnd: new Uint8Array(0), prefix: new Uint8Array(0), prevKv: false } }, requestId: null };
  if (roll < 8) return { op: { kind: 'delete', delete: { key: new Uint8Array(0), rangeEnd: new Uint8Array(0), prefix: KEYS[0]!, prevKv: false } }, requestId: null };
  const [k1, k2] = [key(), key()];
  const ops = [{ kind: 'put' as const, put: { key: k1, value, prevKv: false } }];
  if (hex(k1) !== hex(k2)) ops.push({ kind: 'put' as const, put: { key: k2, value, prevKv: false } });
  return txnCmd({ success: ops });
}

/** Every answer the store gives at its current revision, to compare later reads at that revision with. */
async function answers(s: KvStore, at = 0): Promise<string[]> {
  const out: string[] = [];
  for (const op of RANGES) {
    const r = await s.range(op, at);
    out.push(`${r.kvs.map(show).join(',')} count=${r.count} more=${r.more} next=${hex(r.nextStartAfter)}`);
  }
  for (const key of KEYS) {
    const { kv } = await s.get(key, at);
    out.push(kv === null ? '-' : show(kv));
  }
  return out;
}

/** Applies random commands, recording the answers at each new revision. */
async function buildHistory(s: KvStore, seed: number, commands: number): Promise<Map<number, string[]>> {
  const rnd = new SeededRandom(seed);
  const seen = new Map<number, string[]>([[s.revision(), await answers(s)]]);
  for (let i = 0; i < commands; i++) {
    await applyOne(s, randomCommand(rnd));
    if (!seen.has(s.revision())) seen.set(s.revision(), await answers(s));
  }
  return seen;
}

async function expectRevisionsMatch(s: KvStore, seen: Map<number, string[]>, from: number): Promise<void> {
  for (const [revision, expected] of seen) {
    if (revision < from || revision === 0) continue;
    expect(await answers(s, revision), `answers at revision ${revision}`).toEqual(expected);
  }
}

/** Counts the db's records by namespace byte ('v' versions, 'h' history), reading the closed store's files. */
async function countRecords(kvDir: string): Promise<Record<string, number>> {
  const active = (await readFile(join(kvDir, 'CURRENT'), 'utf8')).trim();
  const db = new ClassicLevel<Buffer, Buffer>(join(kvDir, active), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const counts: Record<string, number> = {};
  try {
    for await (const key of db.keys()) {
      const ns = String.fromCharCode(key[0]!);
      counts[ns] = (counts[ns] ?? 0) + 1;
    }
  } finally {
    await db.close();
  }
  return counts;
}

async function compact(s: KvStore, revision: number): Promise<CommandResult> {
  return s.apply(s.appliedIndex() + 1, encodeCommand(compactCmd(revision)));
}

describe('multi-version keyspace', () => {
  it('answers Range and get at every past revision exactly as they were answered then', async () => {
    const seen = await buildHistory(store, 7, 120);
    await expectRevisionsMatch(store, seen, 1);
    // ...and after a restart, from the db alone.
    await store.close();
    store = await openStore(dir);
    await expectRevisionsMatch(store, seen, 1);
  });

  it('refuses future revisions and, after a compaction, revisions before it', async () => {
    await applyOne(store, putCmd('a', '1'));
    await applyOne(store, putCmd('a', '2'));
    await applyOne(store, putCmd('a', '3'));
    await expect(store.get(b('a'), 4)).rejects.toBeInstanceOf(FutureRevisionError);
    await expect(store.range(rangeOp(), 9)).rejects.toBeInstanceOf(FutureRevisionError);
    expect(await compact(store, 2)).toEqual({ kind: 'compact', revision: 3, compactRevision: 2 });
    await expect(store.get(b('a'), 1)).rejects.toBeInstanceOf(RevisionCompactedError);
    expect((await store.get(b('a'), 2)).kv?.value).toEqual(b('2'));
    // etcd's Compact errors: at or below the compacted revision, and above the current one.
    expect(await compact(store, 2)).toMatchObject({ kind: 'rejected', reason: 4 });
    expect(await compact(store, 1)).toMatchObject({ kind: 'rejected', reason: 4 });
    expect(await compact(store, 4)).toMatchObject({ kind: 'rejected', reason: 5 });
    expect(store.stats()).toMatchObject({ compactRevision: 2, revision: 3 });
    // A compaction creates no revision.
    expect(store.revision()).toBe(3);
  });

  it('compacts physically in bounded steps while applies go on, keeping every answer at or after the compacted revision', async () => {
    await store.close();
    store = await openStore(dir, { compactionStepEntries: 5 });
    const seen = await buildHistory(store, 11, 200);
    const target = Math.floor(store.revision() / 2);
    await compact(store, target);
    // Applies during the compaction: they interleave with its steps.
    const rnd = new SeededRandom(99);
    for (let i = 0; i < 20; i++) {
      await applyOne(store, randomCommand(rnd));
      if (!seen.has(store.revision())) seen.set(store.revision(), await answers(store));
    }
    await store.waitCompacted(target, AbortSignal.timeout(10_000));
    expect(store.stats().compacting).toBe(false);
    await expectRevisionsMatch(store, seen, target);
    for (const revision of seen.keys()) if (revision < target && revision > 0) await expect(store.range(rangeOp(), revision)).rejects.toBeInstanceOf(RevisionCompactedError);
    // Compacting at the current revision leaves one version per live key and the current revision's changes.
    const current = store.revision();
    await compact(store, current);
    await store.waitCompacted(current, AbortSignal.timeout(10_000));
    const live = store.stats().keys;
    await store.close();
    const counts = await countRecords(join(dir, 'kv'));
    expect(counts['v']).toBe(live);
    expect(counts['h'] ?? 0).toBeLessThanOrEqual(2);
    store = await openStore(dir);
    await expectRevisionsMatch(store, seen, current);
  });

  it('resumes an interrupted physical compaction after a restart', async () => {
    await store.close();
    store = await openStore(dir, { compactionStepEntries: 2 });
    for (let i = 0; i < 40; i++) await applyOne(store, putCmd(`k${i % 4}`, `v${i}`));
    await compact(store, 40);
    await store.close(); // almost certainly mid-compaction: 80+ records, 2 per step
    store = await openStore(dir, { compactionStepEntries: 2 });
    await store.waitCompacted(40, AbortSignal.timeout(10_000));
    expect((await store.range(rangeOp(), 40)).kvs.map((kv) => kv.modRevision)).toEqual([37, 38, 39, 40]);
    await store.close();
    expect((await countRecords(join(dir, 'kv')))['v']).toBe(4);
    store = await openStore(dir);
  });

  it('ends waits for a physical compaction on abort and on close', async () => {
    await applyOne(store, putCmd('a', '1'));
    const ac = new AbortController();
    const aborted = store.waitCompacted(1, ac.signal);
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    const pending = expect(store.waitCompacted(1)).rejects.toMatchObject({ code: 'STOPPED' }); // never applied
    await store.close();
    await pending;
    store = await openStore(dir);
  });

  it('carries the history and the compacted revision in snapshots: a restore answers identically', async () => {
    const seen = await buildHistory(store, 23, 80);
    await compact(store, 20);
    const snap = await store.snapshot();
    const other = await tempDir();
    const restored = await openStore(other.dir);
    try {
      await applyOne(restored, putCmd('x', 'y')); // state the restore must replace
      await restored.restore(snap.stream);
      expect(restored.stats()).toMatchObject({ compactRevision: 20, revision: store.revision() });
      await expectRevisionsMatch(restored, seen, 20);
      await expect(restored.get(b('a'), 19)).rejects.toBeInstanceOf(RevisionCompactedError);
    } finally {
      await restored.close();
      await other.cleanup();
    }
  });

  it('leaves replicas byte-identical once their physical compactions finish, whatever their step sizes and batching', async () => {
    const other = await tempDir();
    const replica = await openStore(other.dir, { compactionStepEntries: 3 });
    try {
      const rnd = new SeededRandom(5);
      const cmds = Array.from({ length: 150 }, () => randomCommand(rnd));
      cmds.splice(100, 0, compactCmd(40));
      cmds.splice(130, 0, compactCmd(90));
      for (const cmd of cmds) await applyOne(store, cmd);
      // The replica applies the same log in batches of 7 entries.
      for (let i = 0; i < cmds.length; i += 7) {
        await replica.applyBatch(cmds.slice(i, i + 7).map((cmd, j) => ({ index: i + j + 1, data: encodeCommand(cmd) })));
      }
      await store.waitCompacted(90, AbortSignal.timeout(10_000));
      await replica.waitCompacted(90, AbortSignal.timeout(10_000));
      const bytes = async (s: KvStore): Promise<Buffer> => {
        const chunks: Buffer[] = [];
        for await (const c of (await s.snapshot()).stream as AsyncIterable<Buffer>) chunks.push(c);
        return Buffer.concat(chunks);
      };
      expect((await bytes(replica)).equals(await bytes(store))).toBe(true);
    } finally {
      await replica.close();
      await other.cleanup();
    }
  });

  it('reads at a past revision inside a txn: the recorded answer, the same whatever the batching, refused when compacted or future', async () => {
    const other = await tempDir();
    const batched = await openStore(other.dir);
    try {
      const rnd = new SeededRandom(31);
      const seen = new Map<number, string>();
      const cmds: Command[] = [];
      const results: CommandResult[] = [];
      const whole = (r: { kvs: readonly KeyValue[]; count: number }): string => `${r.kvs.map(show).join(',')} count=${r.count}`;
      for (let i = 0; i < 120; i++) {
        seen.set(store.revision(), whole(await store.range(rangeOp())));
        // Every third command reads, inside a txn that also writes, at a revision one to three back.
        const back = store.revision() - rnd.int(3);
        const cmd = i % 3 === 2 && back > 0
          ? txnCmd({ success: [opPut('w', String(i)), { kind: 'range', range: { ...rangeOp(), revision: back } }] })
          : randomCommand(rnd);
        cmds.push(cmd);
        const result = await applyOne(store, cmd);
        results.push(result);
        if (result.kind === 'txn' && result.responses[1]?.kind === 'range') expect(whole(result.responses[1]), `txn read at ${back}`).toBe(seen.get(back));
      }
      // A replica applying the same entries in batches of 5 reads in-batch revisions from the batch itself.
      const replayed: CommandResult[] = [];
      for (let i = 0; i < cmds.length; i += 5) {
        replayed.push(...(await batched.applyBatch(cmds.slice(i, i + 5).map((cmd, j) => ({ index: i + j + 1, data: encodeCommand(cmd) })))));
      }
      expect(replayed).toEqual(results);

      const before = store.revision();
      const readAt = (revision: number): Command => txnCmd({ success: [opPut('w', 'no'), { kind: 'range', range: { ...rangeOp(), revision } }] });
      expect(await applyOne(store, readAt(before + 1))).toMatchObject({ kind: 'rejected', reason: 5 });
      await compact(store, 10);
      expect(await applyOne(store, readAt(9))).toMatchObject({ kind: 'rejected', reason: 4 });
      expect(store.revision()).toBe(before); // refused whole: the put did not happen
      expect(await applyOne(store, readAt(10))).toMatchObject({ kind: 'txn', succeeded: true });
    } finally {
      await batched.close();
      await other.cleanup();
    }
  });

  it('upgrades a db of the latest-versions-only format: current reads work, the past is compacted', async () => {
    await applyOne(store, putCmd('a', '1'));
    await applyOne(store, putCmd('b', '1'));
    await applyOne(store, txnCmd({ success: [opPut('a', '2')] }));
    await applyOne(store, delCmd({ key: 'b' }));
    const before = await answers(store);
    await store.close();
    // Rewrite the db into format 1: no version or history records, format marker 1.
    const kvDir = join(dir, 'kv');
    const active = (await readFile(join(kvDir, 'CURRENT'), 'utf8')).trim();
    const db = new ClassicLevel<Buffer, Buffer>(join(kvDir, active), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    for await (const key of db.keys()) if (key[0] === 0x76 || key[0] === 0x68 || key.toString('latin1').startsWith('mcompact')) await db.del(key);
    const one = Buffer.alloc(8);
    one.writeBigUInt64BE(1n);
    await db.put(Buffer.from('mformat'), one);
    await db.close();
    store = await openStore(dir);
    expect(store.stats()).toMatchObject({ compactRevision: 4, revision: 4 });
    expect(await answers(store)).toEqual(before);
    expect(await answers(store, 4)).toEqual(before);
    await expect(store.get(b('a'), 3)).rejects.toBeInstanceOf(RevisionCompactedError);
    await applyOne(store, putCmd('a', '3'));
    expect((await store.get(b('a'), 4)).kv?.value).toEqual(b('2'));
  });
});
