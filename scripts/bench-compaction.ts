/**
 * How long a physical compaction takes and how much it delays applies running at the same time, on
 * one KvStore in a temp directory (real LevelDB):
 *   npx tsx scripts/bench-compaction.ts [versions] [keys] [step_entries]
 * Writes `versions` puts (100-byte values) spread over `keys` keys, compacts at the newest revision
 * but one, and applies one put after another until the compaction is reclaimed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KvStore, encodeCommand, type Command } from '../src/kv/index.js';

const arg = (i: number, fallback: number): number => Number(process.argv[2 + i] ?? fallback);
const [versions, keys, stepEntries] = [arg(0, 200_000), arg(1, 10_000), arg(2, 1_000)];
const BATCH = 500;
const value = new Uint8Array(100).fill(120);
const put = (key: string): Command => ({ op: { kind: 'put', put: { key: new Uint8Array(Buffer.from(key)), value, prevKv: false } }, requestId: null });

const dir = await mkdtemp(join(tmpdir(), 'raftkv-bench-compaction-'));
const store = await KvStore.open({ dir: join(dir, 'kv'), limits: { compactionStepEntries: stepEntries } });
try {
  let index = 0;
  for (let i = 0; i < versions; i += BATCH) {
    const entries = [];
    for (let j = 0; j < BATCH && i + j < versions; j++) entries.push({ index: ++index, data: encodeCommand(put(`key/${(i + j) % keys}`)) });
    await store.applyBatch(entries);
  }
  const target = store.revision() - 1;
  const started = performance.now();
  await store.apply(++index, encodeCommand({ op: { kind: 'compact', compact: { revision: target } }, requestId: null }));
  let done = false;
  const compaction = store.waitCompacted(target).then(() => (done = true));
  const waits: number[] = [];
  while (!done) {
    const t = performance.now();
    await store.apply(++index, encodeCommand(put('live')));
    waits.push(performance.now() - t);
  }
  await compaction;
  const ms = performance.now() - started;
  waits.sort((a, b) => a - b);
  const at = (p: number): string => (waits[Math.min(waits.length - 1, Math.floor(waits.length * p))] ?? 0).toFixed(1);
  process.stdout.write(`compacted ${versions} versions of ${keys} keys (steps of ${stepEntries}) in ${ms.toFixed(0)} ms; ` +
    `${waits.length} applies meanwhile: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms\n`);
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
