import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptionError } from '../common/errors.js';

/**
 * The kv directory holds one or two classic-level databases, `db-<n>`, and a pointer file `CURRENT`
 * naming the active one. A restore writes `db-<n+1>`, fsyncs it, then replaces CURRENT atomically
 * (write CURRENT.tmp, fsync, rename, fsync the directory) and only then deletes `db-<n>`. Whatever
 * step a crash interrupts, CURRENT names a complete database; opening deletes the leftovers.
 */
const POINTER = 'CURRENT';
const POINTER_TMP = 'CURRENT.tmp';
const DB_PREFIX = 'db-';
const FIRST_DB = 'db-1';

export function kvDir(dataDir: string, raftId: number): string {
  return join(dataDir, String(raftId), 'kv');
}

/** Makes the directory usable and returns the active database's name. */
export async function prepareKvDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  let active = await readPointer(dir);
  if (active === null) {
    const stray = entries.filter((e) => e.startsWith(DB_PREFIX));
    if (stray.length > 0) {
      throw new CorruptionError(`${join(dir, POINTER)} is missing but ${stray.join(', ')} exist; refusing to guess`);
    }
    active = FIRST_DB;
    await writePointer(dir, active);
  } else if (active !== FIRST_DB && !(await exists(join(dir, active)))) {
    throw new CorruptionError(`${join(dir, POINTER)} names ${active}, which does not exist`);
  }
  for (const e of entries) {
    if (e === POINTER_TMP || (e.startsWith(DB_PREFIX) && e !== active)) await rm(join(dir, e), { recursive: true, force: true });
  }
  return active;
}

export function nextDbName(active: string): string {
  return `${DB_PREFIX}${Number(active.slice(DB_PREFIX.length)) + 1}`;
}

async function readPointer(dir: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(join(dir, POINTER), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const name = text.trim();
  if (!/^db-[1-9][0-9]*$/.test(name)) throw new CorruptionError(`${join(dir, POINTER)} holds ${JSON.stringify(name)}, not a db name`);
  return name;
}

export async function writePointer(dir: string, name: string): Promise<void> {
  const tmp = join(dir, POINTER_TMP);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(`${name}\n`, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, POINTER));
  await fsyncPath(dir);
}

/** fsyncs every file of a (flat) directory, then the directory itself. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile()) await fsyncPath(join(dir, e.name));
  }
  await fsyncPath(dir);
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
