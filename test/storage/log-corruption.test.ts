import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/common/errors.js';
import { entryKey, KEY_HARD_STATE } from '../../src/storage/log-codec.js';
import { DiskStorage } from '../../src/storage/log-store.js';
import { ent, ents, useTempDirs } from './helpers.js';

type Raw = ClassicLevel<Buffer, Buffer>;

describe('DiskStorage corruption detection', () => {
  const tempDir = useTempDirs();

  /** A store holding entries 1..5 (term 1) and commit 3, closed. */
  async function populated(): Promise<string> {
    const dir = join(await tempDir(), 'raft');
    const s = await DiskStorage.open(dir);
    await s.persist({ entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 3 } });
    await s.close();
    return dir;
  }

  async function withRaw(dir: string, fn: (raw: Raw) => Promise<void>): Promise<void> {
    const raw: Raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await fn(raw);
    } finally {
      await raw.close();
    }
  }

  async function expectCorruption(dir: string, ...mentions: RegExp[]): Promise<CorruptionError> {
    const err: unknown = await DiskStorage.open(dir).then(
      async (s) => {
        await s.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptionError);
    const c = err as CorruptionError;
    expect(c.code).toBe('CORRUPT');
    expect(c.message).toContain(dir);
    for (const m of mentions) expect(c.message).toMatch(m);
    return c;
  }

  it('a flipped payload byte fails the entry checksum and names the index', async () => {
    const dir = await populated();
    await withRaw(dir, async (raw) => {
      const value = (await raw.get(entryKey(3)))!;
      value[value.length - 1]! ^= 0x01;
      await raw.put(entryKey(3), value);
    });
    await expectCorruption(dir, /entry index 3\b/, /checksum mismatch/);
  });

  it('a flipped term byte fails the checksum', async () => {
    const dir = await populated();
    await withRaw(dir, async (raw) => {
      const value = (await raw.get(entryKey(2)))!;
      value[12]! ^= 0x80; // inside the term field
      await raw.put(entryKey(2), value);
    });
    await expectCorruption(dir, /entry index 2\b/, /checksum mismatch/);
  });

  it('a valid record copied under another index fails (the checksum covers the index)', async () => {
    const dir = await populated();
    await withRaw(dir, async (raw) => {
      await raw.put(entryKey(4), (await raw.get(entryKey(2)))!);
    });
    await expectCorruption(dir, /entry index 4\b/, /checksum mismatch/);
  });

  it('an undecodable record names the index', async () => {
    const dir = await populated();
    await withRaw(dir, (raw) => raw.put(entryKey(3), Buffer.from([1, 2])));
    await expectCorruption(dir, /entry index 3\b/, /too short/);
  });

  it('a missing entry in the middle is a gap that names the indices', async () => {
    const dir = await populated();
    await withRaw(dir, (raw) => raw.del(entryKey(3)));
    await expectCorruption(dir, /entry index 4 follows index 2/);
  });

  it('a missing tail below the commit index is detected', async () => {
    const dir = await populated();
    await withRaw(dir, (raw) => raw.batch([{ type: 'del', key: entryKey(5) }, { type: 'del', key: entryKey(4) }, { type: 'del', key: entryKey(3) }]));
    await expectCorruption(dir, /commit index 3 is past the last log index 2/);
  });

  it('a corrupt hard state record is detected', async () => {
    const dir = await populated();
    await withRaw(dir, async (raw) => {
      const value = (await raw.get(KEY_HARD_STATE))!;
      value[value.length - 1]! ^= 0xff;
      await raw.put(KEY_HARD_STATE, value);
    });
    await expectCorruption(dir, /hard state: checksum mismatch/);
  });

  it('terms going backwards are detected', async () => {
    const dir = join(await tempDir(), 'raft');
    const s = await DiskStorage.open(dir);
    await s.persist({ entries: [ent(1, 2), ent(2, 2)] });
    await s.close();
    // Write a well-formed, correctly checksummed entry with a lower term through a second store
    // instance whose log is empty, then move it under index 3 of the first.
    const other = join(await tempDir(), 'raft');
    const o = await DiskStorage.open(other);
    await o.persist({ entries: [ent(1, 1), ent(2, 1), ent(3, 1)] });
    await o.close();
    let record: Buffer | undefined;
    await withRaw(other, async (raw) => {
      record = await raw.get(entryKey(3));
    });
    await withRaw(dir, (raw) => raw.put(entryKey(3), record!));
    await expectCorruption(dir, /entry index 3 has term 1, below term 2/);
  });

  it('LevelDB-level corruption at open (a garbage MANIFEST) is a CorruptionError too', async () => {
    const dir = await populated();
    const manifest = (await readdir(dir)).find((n) => n.startsWith('MANIFEST-'))!;
    await writeFile(join(dir, manifest), 'not a manifest at all, just garbage bytes');
    await expectCorruption(dir, /LevelDB reports corruption while opening/);
  });

  describe('bytes flipped in the LevelDB files themselves', () => {
    /** Entries 1..8 with random (incompressible, so stored verbatim) payloads; returns them. */
    async function withRandomPayloads(dir: string): Promise<Buffer[]> {
      const payloads: Buffer[] = [];
      const s = await DiskStorage.open(dir);
      for (let i = 1; i <= 8; i++) {
        payloads[i] = randomBytes(200);
        await s.persist({ entries: [ent(i, 1, payloads[i]!)], hardState: { term: 1, vote: 0, commit: i } });
      }
      await s.close();
      return payloads;
    }

    /** Flip one bit inside `payload` where it appears in a `*fileSuffix` file; returns the file name. */
    async function flipInFile(dir: string, fileSuffix: string, payload: Buffer): Promise<string> {
      const needle = payload.subarray(50, 82);
      for (const name of await readdir(dir)) {
        if (!name.endsWith(fileSuffix)) continue;
        const bytes = await readFile(join(dir, name));
        const at = bytes.indexOf(needle);
        if (at < 0) continue;
        bytes[at + 5]! ^= 0x20;
        await writeFile(join(dir, name), bytes);
        return name;
      }
      throw new Error(`payload not found in any *${fileSuffix} file of ${dir}`);
    }

    it('in a table file (.ldb): the entry checksum catches it and names the index', async () => {
      const dir = join(await tempDir(), 'raft');
      const payloads = await withRandomPayloads(dir);
      // Reopening replays the write-ahead log into a level-0 table file.
      await (await DiskStorage.open(dir)).close();
      await flipInFile(dir, '.ldb', payloads[5]!);
      await expectCorruption(dir, /entry index 5\b/, /checksum mismatch/);
    });

    it('in the write-ahead log (.log): the dropped records are detected', async () => {
      const dir = join(await tempDir(), 'raft');
      const payloads = await withRandomPayloads(dir);
      const file = await flipInFile(dir, '.log', payloads[6]!);
      const err = await expectCorruption(dir, /dropped damaged write-ahead log records/);
      expect(err.message).toContain(file);
      // LevelDB has rewritten the store without the damaged records; the finding must stick.
      await expectCorruption(dir, /quarantined by an earlier open/, /dropping \d+ bytes/);
      await expectCorruption(dir, /quarantined by an earlier open/);
    });
  });
});
