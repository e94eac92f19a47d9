import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Directory levels followed below the root: the KV store is kv/db-<n>/<files>. */
const DEPTH_MAX = 4;

/** Bytes of the regular files under `dir` (0 if it does not exist); files removed meanwhile are skipped. */
export async function directoryBytes(dir: string, depth = 0): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (depth < DEPTH_MAX) total += await directoryBytes(path, depth + 1);
    } else if (e.isFile()) {
      total += await stat(path).then((s) => s.size, () => 0);
    }
  }
  return total;
}
