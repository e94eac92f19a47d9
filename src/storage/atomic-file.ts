/**
 * Crash-safe file replacement: write to a temp name in the same directory, fsync it, rename it over
 * the final name, fsync the directory. After a crash the final name holds either the old or the new
 * content, never a mix; a leftover temp file is recognised by `isTempName` and can be deleted.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AbortedError } from '../common/errors.js';

const TEMP_SUFFIX = '.tmp';

/** A fresh temp path next to `finalPath`: `<final>.<nonce>.tmp`. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `${basename(finalPath)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

export function isTempName(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/** fsync a directory so that renames and unlinks in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically replace `path` with `data` (temp, fsync, rename, fsync the directory). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { signal?: AbortSignal | undefined } = {}): Promise<void> {
  throwIfAborted(opts.signal, `writing ${path}`);
  const temp = tempPathFor(path);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    throwIfAborted(opts.signal, `writing ${path}`);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} aborted`, { cause: signal.reason });
}
