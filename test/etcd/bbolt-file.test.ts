/**
 * The bbolt writer against bbolt itself: etcdctl 3.4's `snapshot status` opens the file read-only,
 * runs bbolt's consistency check (every page reachable or free, keys in order) and walks every
 * bucket. Enough entries for branch pages, and values larger than a page for overflow pages.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOLT_PAGE_BYTES, writeBolt, writeBoltDb } from '../../src/service/etcd/bbolt.js';
import { HAVE_ETCDCTL } from './ctl.js';

interface StatusJson { hash: number; revision: number; totalKey: number; totalSize: number }

function snapshotStatus(file: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: err ? stderr : stdout }),
    );
  });
}

function revKey(main: number, sub: number): Buffer {
  const k = Buffer.alloc(17);
  k.writeBigUInt64BE(BigInt(main), 0);
  k[8] = 0x5f;
  k.writeBigUInt64BE(BigInt(sub), 9);
  return k;
}

describe.skipIf(!HAVE_ETCDCTL)('bbolt file writer', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const status = async (pages: Buffer[]): Promise<StatusJson> => {
    const dir = await mkdtemp(join(tmpdir(), 'raftkv-bolt-'));
    dirs.push(dir);
    const file = join(dir, 'db');
    await writeFile(file, Buffer.concat(pages));
    const r = await snapshotStatus(file);
    if (r.code !== 0) throw new Error(r.out);
    return JSON.parse(r.out) as StatusJson;
  };

  it('writes empty buckets bbolt accepts', async () => {
    const pages = await writeBoltDb([{ name: 'key', entries: [] }, { name: 'meta', entries: [] }]);
    expect(pages.every((p) => p.length % BOLT_PAGE_BYTES === 0)).toBe(true);
    expect(await status(pages)).toMatchObject({ totalKey: 0, revision: 0 });
  });

  it('writes thousands of entries over branch pages and oversized values over overflow pages', async () => {
    const entries: Array<readonly [Uint8Array, Uint8Array]> = [];
    for (let i = 1; i <= 20_000; i++) entries.push([revKey(i, 0), Buffer.alloc(i % 1000 === 0 ? 3 * BOLT_PAGE_BYTES + 17 : 40, i % 251)]);
    const pages = await writeBoltDb([{ name: 'meta', entries: [[Buffer.from('consistent_index'), Buffer.alloc(8)]] }, { name: 'key', entries }]);
    const s = await status(pages);
    expect(s.totalKey).toBe(20_001);
    expect(s.revision).toBe(20_000);
    expect(s.totalSize).toBe(pages.reduce((n, p) => n + p.length, 0));
  });

  it('builds the same file page by page from placeholders filled in afterwards, from a generator', async () => {
    const value = (i: number): Buffer => Buffer.alloc(i % 700 === 0 ? 2 * BOLT_PAGE_BYTES + 5 : 30 + (i % 50), i % 253);
    const whole = await writeBoltDb([{ name: 'key', entries: Array.from({ length: 5000 }, (_, i) => [revKey(i + 1, 0), value(i)] as const) }]);
    const file = Buffer.alloc(whole.reduce((n, p) => n + p.length, 0), 0xee); // garbage where nothing is written
    const offsets: number[] = [];
    function* entries(): Generator<readonly [Uint8Array, number]> {
      for (let i = 0; i < 5000; i++) yield [revKey(i + 1, 0), value(i).length];
    }
    const pages = await writeBolt([{ name: 'key', entries: entries() }], (id, run) => void run.copy(file, id * BOLT_PAGE_BYTES), (bucket, n, at) => {
      expect(bucket).toBe('key');
      offsets[n] = at;
    });
    expect(pages * BOLT_PAGE_BYTES).toBe(file.length);
    offsets.forEach((at, i) => value(i).copy(file, at));
    expect(file.equals(Buffer.concat(whole))).toBe(true);
    expect((await status([file])).totalKey).toBe(5000);
  });

  it('is read back as different content when an entry changes (the hash covers the data)', async () => {
    const make = (v: number): Promise<Buffer[]> => writeBoltDb([{ name: 'key', entries: [[revKey(1, 0), Buffer.from([v])]] }]);
    expect((await status(await make(1))).hash).not.toBe((await status(await make(2))).hash);
  });
});
