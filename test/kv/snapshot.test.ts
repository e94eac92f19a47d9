import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, CorruptionError } from '../../src/common/errors.js';
import { SeededRandom } from '../../src/common/random.js';
import { CompareResult, KvStore, encodeCommand } from '../../src/kv/index.js';
import type { Command, RestoreStep } from '../../src/kv/index.js';
import { applyAll, applyOne, cmpVersion, delCmd, dump, opDelete, opPut, opRange, putCmd, tempDir, txnCmd } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const open: KvStore[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const st of open.splice(0)) await st.close().catch(() => undefined);
  await cleanup();
});

async function store(name: string, hooks?: { onRestoreStep?: (step: RestoreStep) => void }): Promise<KvStore> {
  const st = await KvStore.open({ dir: join(dir, name, 'kv'), ...(hooks ? { testHooks: hooks } : {}) });
  open.push(st);
  return st;
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function snapshotBytes(st: KvStore): Promise<Buffer> {
  return collect((await st.snapshot()).stream);
}

/** A seeded mix of puts, deletes, txns and request ids: the same seed gives the same commands. */
function workload(seed: number, n: number): Command[] {
  const rnd = new SeededRandom(seed);
  const key = () => `k${rnd.int(40)}`;
  const out: Command[] = [];
  for (let i = 0; i < n; i++) {
    const id = rnd.chance(0.3) ? { clientId: `c${rnd.int(5)}`, seq: i + 1 } : null;
    const r = rnd.int(10);
    if (r < 6) out.push(putCmd(key(), `v${i}`, id));
    else if (r < 7) out.push(delCmd({ key: key() }, id));
    else if (r < 8) out.push(delCmd({ prefix: `k${rnd.int(4)}` }, id));
    else out.push(txnCmd({ compare: [cmpVersion(key(), CompareResult.Greater, rnd.int(3))], success: [opPut(key(), `t${i}`), opRange({ prefix: 'k1' })], failure: [opDelete({ key: key() })] }, id));
  }
  return out;
}

describe('snapshot and restore', () => {
  it('restores into another store with identical content, metadata and dedupe table', async () => {
    const a = await store('a');
    const cmds = workload(7, 400);
    const results = await applyAll(a, cmds);
    const snap = await a.snapshot();
    expect(snap).toMatchObject({ index: 400, revision: a.revision() });
    const bytes = await collect(snap.stream);
    await applyOne(a, putCmd('after', 'snapshot')); // not in the snapshot

    const b = await store('b');
    await applyAll(b, [putCmd('junk', 'replaced')]);
    expect(await b.restore(Readable.from([bytes]))).toEqual({ index: 400, revision: snap.revision });
    expect(b.stats()).toMatchObject({ appliedIndex: 400, revision: snap.revision, dedupeClients: a.stats().dedupeClients });
    const aDump = (await dump(a)).filter((line) => !line.startsWith('after='));
    expect(await dump(b)).toEqual(aDump);
    expect(gunzipSync(await snapshotBytes(b))).toEqual(gunzipSync(bytes));

    // A retried write is recognised on the restored store too.
    const last = cmds.findLastIndex((c) => c.requestId !== null);
    const retry = await b.apply(401, encodeCommand(cmds[last] as Command));
    expect(retry).toEqual(results[last]);
    expect(b.revision()).toBe(snap.revision);

    // The restored store survives a reopen and keeps working.
    await b.close();
    const b2 = await store('b');
    expect(await dump(b2)).toEqual(aDump);
    await applyOne(b2, putCmd('new', '1'));
    expect(b2.revision()).toBe(snap.revision + 1);
    expect((await readdir(join(dir, 'b', 'kv'))).sort()).toEqual(['CURRENT', 'db-2']);
  });

  it('is deterministic: the same applies give byte-identical state', async () => {
    const [x, y] = [await store('x'), await store('y')];
    const cmds = workload(99, 300);
    const rx = await applyAll(x, cmds);
    const ry = await applyAll(y, cmds);
    expect(rx).toEqual(ry);
    expect(gunzipSync(await snapshotBytes(x))).toEqual(gunzipSync(await snapshotBytes(y)));
  });

  it('applyBatch equals applying one by one, including retries inside one batch', async () => {
    const [x, y] = [await store('x'), await store('y')];
    const cmds = workload(11, 300);
    const dup = putCmd('dup', 'x', { clientId: 'retrying', seq: 1 });
    cmds.splice(100, 0, dup, putCmd('dup', 'y'), dup); // a retry within one batch of 37
    const one = await applyAll(x, cmds);
    const batched = [];
    for (let i = 0; i < cmds.length; i += 37) {
      const slice = cmds.slice(i, i + 37).map((c, j) => ({ index: i + j + 1, data: encodeCommand(c) }));
      batched.push(...(await y.applyBatch(slice)));
    }
    expect(batched).toEqual(one);
    expect(batched[102]).toEqual(batched[100]);
    expect((await y.get(new TextEncoder().encode('dup'))).kv?.version).toBe(2);
    expect(y.stats()).toEqual(x.stats());
    expect(gunzipSync(await snapshotBytes(y))).toEqual(gunzipSync(await snapshotBytes(x)));
  });

  for (const step of ['written', 'pointer-swapped', 'old-closed'] as const) {
    it(`leaves a usable store after a crash at "${step}"`, async () => {
      const src = await store('src');
      await applyAll(src, [putCmd('new', '1'), putCmd('new2', '2')]);
      const bytes = await snapshotBytes(src);
      let crash = true;
      const target = await store('t', {
        onRestoreStep: (s) => {
          if (crash && s === step) throw new Error(`simulated crash at ${s}`);
        },
      });
      await applyAll(target, [putCmd('old', '1')]);
      await expect(target.restore(Readable.from([bytes]))).rejects.toThrow(/simulated crash/);
      await expect(applyOne(target, putCmd('x', 'y'))).rejects.toThrow(/simulated crash/);
      await target.close(); // releases the LevelDB lock, as process death would
      crash = false;
      const reopened = await store('t');
      const expected = step === 'written' ? ['old=1@1/1/1'] : ['new=1@1/1/1', 'new2=2@2/2/1'];
      expect(await dump(reopened)).toEqual(expected);
      await applyOne(reopened, putCmd('later', 'z'));
      expect((await reopened.get(new TextEncoder().encode('later'))).kv).not.toBeNull();
      const entries = (await readdir(join(dir, 't', 'kv'))).sort();
      expect(entries).toEqual(['CURRENT', step === 'written' ? 'db-1' : 'db-2']);
    });
  }

  it('rejects corrupt and truncated streams, keeping the old state', async () => {
    const src = await store('src');
    await applyAll(src, workload(3, 50));
    const bytes = await snapshotBytes(src);
    const target = await store('t');
    await applyAll(target, [putCmd('keep', 'me')]);

    const raw = gunzipSync(bytes);
    const truncated = gzipSync(raw.subarray(0, raw.length - 20));
    const flipped = Buffer.from(bytes);
    const mid = Math.floor(flipped.length / 2);
    flipped[mid] = (flipped[mid] ?? 0) ^ 0xff;
    const badMagic = gzipSync(Buffer.concat([Buffer.from('NOTASNAP'), raw.subarray(8)]));
    for (const bad of [truncated, flipped, badMagic, Buffer.from('plain text')]) {
      await expect(target.restore(Readable.from([bad]))).rejects.toThrow(CorruptionError);
    }
    expect(await dump(target)).toEqual(['keep=me@1/1/1']);
    expect((await readdir(join(dir, 't', 'kv'))).sort()).toEqual(['CURRENT', 'db-1']);
    await applyOne(target, putCmd('still', 'works'));
  });

  it('aborts a restore whose stream stalls', async () => {
    const src = await store('src');
    await applyAll(src, workload(5, 20));
    const bytes = await snapshotBytes(src);
    const target = await store('t');
    const stalled = new PassThrough();
    stalled.write(bytes.subarray(0, 10)); // then nothing more
    const ac = new AbortController();
    const restoring = target.restore(stalled, { signal: ac.signal });
    ac.abort();
    await expect(restoring).rejects.toThrow(AbortedError);
    await applyOne(target, putCmd('a', 'b'));
    expect(target.revision()).toBe(1);
  });
});
