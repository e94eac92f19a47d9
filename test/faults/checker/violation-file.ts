/**
 * Saves a key's violation so a failed fault run leaves evidence a human can open: a JSON file with the
 * minimal failing sub-history (re-checkable with `readViolation` + `checkKeyOperations`) and, next to
 * it, the timeline of that sub-history with the faults that overlap it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyResult } from './check.js';
import type { FaultInterval, Operation } from './history.js';
import { InvalidHistoryError, validateHistory } from './history.js';
import { renderTimelineHtml } from './timeline.js';

export const VIOLATION_FORMAT = 'raftkv-linearizability-violation/1';

export interface ViolationFile {
  readonly format: typeof VIOLATION_FORMAT;
  readonly key: string;
  readonly verdict: KeyResult['verdict'];
  readonly operationCount: number;
  readonly steps: number;
  readonly shrinkChecks: number;
  readonly minimal: Operation[];
  readonly faults: FaultInterval[];
  /** Whatever identifies the run: seed, nemesis schedule, git commit. */
  readonly context: Readonly<Record<string, unknown>>;
}

export interface WriteViolationOptions {
  readonly faults?: readonly FaultInterval[];
  readonly context?: Readonly<Record<string, unknown>>;
}

export interface WrittenViolation {
  readonly jsonPath: string;
  readonly htmlPath: string;
}

/** A file name that survives any key: readable prefix plus a hash to keep distinct keys distinct. */
function fileStem(key: string): string {
  let h = 0x811c9dc5;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const readable = key.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `violation-${readable}-${h.toString(16).padStart(8, '0')}`;
}

function overlapping(faults: readonly FaultInterval[], ops: readonly Operation[]): FaultInterval[] {
  if (ops.length === 0) return [];
  const fromMs = Math.min(...ops.map((op) => op.invokeMs));
  const toMs = Math.max(...ops.map((op) => (op.outcome === 'unknown' ? Number.POSITIVE_INFINITY : op.completeMs)));
  return faults.filter((f) => f.startMs <= toMs && (f.endMs === null || f.endMs >= fromMs));
}

export async function writeViolation(dir: string, result: KeyResult, options: WriteViolationOptions = {}): Promise<WrittenViolation> {
  if (result.verdict !== 'violation' || result.minimal === null) {
    throw new InvalidHistoryError(null, `key ${JSON.stringify(result.key)} has no violation to write (verdict ${result.verdict})`);
  }
  await mkdir(dir, { recursive: true });
  const faults = overlapping(options.faults ?? [], result.minimal);
  const file: ViolationFile = {
    format: VIOLATION_FORMAT,
    key: result.key,
    verdict: result.verdict,
    operationCount: result.operationCount,
    steps: result.steps,
    shrinkChecks: result.shrinkChecks,
    minimal: result.minimal,
    faults,
    context: options.context ?? {},
  };
  const stem = fileStem(result.key);
  const jsonPath = join(dir, `${stem}.json`);
  const htmlPath = join(dir, `${stem}.html`);
  await writeFile(jsonPath, `${JSON.stringify(file, null, 2)}\n`);
  const title = `linearizability violation on key ${JSON.stringify(result.key)} (${result.minimal.length} of ${result.operationCount} operations)`;
  await writeFile(htmlPath, renderTimelineHtml(result.minimal, faults, { title }));
  return { jsonPath, htmlPath };
}

/** Loads a file written by writeViolation and validates its operations. */
export async function readViolation(jsonPath: string): Promise<ViolationFile> {
  const parsed = JSON.parse(await readFile(jsonPath, 'utf8')) as Partial<ViolationFile>;
  if (parsed.format !== VIOLATION_FORMAT || !Array.isArray(parsed.minimal)) {
    throw new InvalidHistoryError(null, `${jsonPath} is not a ${VIOLATION_FORMAT} file`);
  }
  validateHistory(parsed.minimal);
  return parsed as ViolationFile;
}
