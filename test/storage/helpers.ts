import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Entry } from '../../src/raft/types.js';

/** Temp directories under os.tmpdir(), removed after each test. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raftkv-storage-'));
    dirs.push(dir);
    return dir;
  };
}

export function ent(index: number, term: number, data: string | Uint8Array = `v${index}`): Entry {
  return { index, term, type: 0, data: typeof data === 'string' ? new TextEncoder().encode(data) : data };
}

export function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
}

/** index/term/type/data-as-text of entries, for readable equality checks. */
export function summary(list: readonly Entry[]): string[] {
  return list.map((e) => `${e.index}/${e.term}/${e.type}/${new TextDecoder().decode(e.data)}`);
}
