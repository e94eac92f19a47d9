import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsKvDisk, type KvDisk } from '../../src/kv/disk.js';
import type { Db } from '../../src/kv/db.js';
import { KvStore, encodeCommand, type Command, type WatchEvent } from '../../src/kv/index.js';
import { b, putCmd, s, tempDir } from './helpers.js';

/**
 * A key-only batch's results are handed out when computed, before its db write lands (the raft log
 * is what makes them durable); reads and watches must still never see an older state than a caller
 * was told of. The disk here is the real one, with a gate that can hold db writes.
 */
class GatedDisk implements KvDisk {
  private readonly inner: FsKvDisk;
  private held: Promise<void> | null = null;
  private open_: (() => void) | null = null;
  /** Resolves when a held write has been issued. */
  issued: Promise<void> = Promise.resolve();
  private onIssued: (() => void) | null = null;

  constructor(dir: string) {
    this.inner = new FsKvDisk(dir);
  }

  get location(): string {
    return this.inner.location;
  }

  hold(): void {
    this.held = new Promise((resolve) => (this.open_ = resolve));
    this.issued = new Promise((resolve) => (this.onIssued = resolve));
  }

  release(): void {
    this.open_?.();
    this.held = null;
  }

  prepare(): Promise<string> {
    return this.inner.prepare();
  }

  async open(name: string): Promise<Db> {
    const db = await this.inner.open(name);
    // The store writes through chained batches (src/kv/db.ts writeBatch): hold their write().
    const chained = db.batch.bind(db) as () => { write(opts?: object): Promise<void> };
    (db as unknown as { batch: () => unknown }).batch = () => {
      const batch = chained();
      const write = batch.write.bind(batch);
      batch.write = async (opts?: object) => {
        const gate = this.held;
        if (gate !== null) {
          this.onIssued?.();
          await gate;
        }
        return write(opts);
      };
      return batch;
    };
    return db;
  }

  seal(name: string): Promise<void> {
    return this.inner.seal(name);
  }

  activate(name: string): Promise<void> {
    return this.inner.activate(name);
  }

  remove(name: string): Promise<void> {
    return this.inner.remove(name);
  }
}

let cleanup: () => Promise<void>;
let disk: GatedDisk;
let store: KvStore;

beforeEach(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  disk = new GatedDisk(join(t.dir, 'kv'));
  store = await KvStore.open({ disk });
});
afterEach(async () => {
  disk.release();
  await store.close();
  await cleanup();
});

const apply = (cmd: Command): ReturnType<KvStore['apply']> => store.apply(store.appliedIndex() + 1, encodeCommand(cmd));

/** True once `p` settled within a few event-loop turns (it was not waiting for anything outside). */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5 && !settled; i++) await nextTurn();
  return settled;
}

describe('results before the write lands', () => {
  it('a put answers while its write is held; a read waits for the write and sees it', async () => {
    await apply(putCmd('k', 'old'));
    disk.hold();
    const put = apply(putCmd('k', 'new'));
    await disk.issued;
    expect(await settlesSoon(put)).toBe(true);
    expect(await put).toMatchObject({ kind: 'put', revision: 2 });
    expect(store.appliedIndex()).toBe(2);
    const read = store.get(b('k'));
    expect(await settlesSoon(read)).toBe(false);
    disk.release();
    const got = await read;
    expect(got.revision).toBe(2);
    expect(s(got.kv!.value)).toBe('new');
  });

  it('a lease grant is answered only after its write, since callers read leases from memory', async () => {
    disk.hold();
    const grant = apply({ op: { kind: 'leaseGrant', leaseGrant: { id: 7, ttlSeconds: 30 } }, requestId: null });
    await disk.issued;
    expect(await settlesSoon(grant)).toBe(false);
    disk.release();
    await grant;
    expect(store.lease(7)).toMatchObject({ id: 7, ttlSeconds: 30 });
  });

  it('a watch from "now" opened after an early answer does not see that write', async () => {
    disk.hold();
    const first = apply(putCmd('w', '1'));
    await disk.issued;
    expect(await settlesSoon(first)).toBe(true);
    const ac = new AbortController();
    const watcher = store.watch({ key: b('w'), signal: ac.signal });
    disk.release();
    await apply(putCmd('w', '2'));
    const { value } = await watcher.next();
    ac.abort();
    expect((value as WatchEvent[]).map((e) => s(e.kv.value))).toEqual(['2']);
  });
});
