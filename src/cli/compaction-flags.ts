import type { AutoCompactionOptions } from '../node/auto-compactor.js';
import type { FlagSpec, FlagValues } from './flags.js';
import { UsageError } from './flags.js';

const MODES = ['periodic', 'revision'] as const;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
/** Retention beyond this (about 100 years) is surely a typo, and would overflow timer arithmetic. */
const RETENTION_MS_MAX = 100 * 365 * 24 * 3_600_000;

/**
 * etcd's --auto-compaction-retention for periodic mode: a duration such as `1h`, `30m`, `1h30m`,
 * `90s` or `500ms`, or a plain number of hours (`1`, `0.5`), as etcd reads it. 0 turns it off.
 */
export function parseRetentionMs(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * UNIT_MS['h']!);
  const parts = t.match(/(\d+(?:\.\d+)?)(ms|h|m|s)/g);
  if (t === '' || parts === null || parts.join('') !== t) throw new UsageError(`invalid --auto_compaction_retention: "${text}" is not a duration (1h, 30m, 1h30m, 90s) or a number of hours`);
  let ms = 0;
  for (const p of parts) {
    const [, n, unit] = /^(\d+(?:\.\d+)?)(ms|h|m|s)$/.exec(p)!;
    ms += Number(n) * UNIT_MS[unit!]!;
  }
  return Math.round(ms);
}

export const AUTO_COMPACTION_FLAGS: readonly FlagSpec[] = [
  { name: 'auto_compaction_mode', kind: 'string', default: 'periodic', help: 'what --auto_compaction_retention counts: periodic (time) or revision (revisions)', check: (v) => ((MODES as readonly string[]).includes(String(v)) ? null : `want one of ${MODES.join(', ')}`) },
  { name: 'auto_compaction_retention', kind: 'string', default: '0', help: 'history the leader keeps by compacting: periodic: a duration (1h, 30m) or hours as a number; revision: a count of revisions; 0: off' },
];

/** Null when auto-compaction is off (retention 0). */
export function autoCompactionConfig(f: FlagValues): AutoCompactionOptions | null {
  const mode = String(f.get('auto_compaction_mode') ?? 'periodic') as AutoCompactionOptions['mode'];
  const text = String(f.get('auto_compaction_retention') ?? '0');
  let retention: number;
  if (mode === 'revision') {
    if (!/^\d+$/.test(text.trim())) throw new UsageError(`invalid --auto_compaction_retention: "${text}" is not a revision count (revision mode wants a non-negative integer)`);
    retention = Number(text.trim());
    if (!Number.isSafeInteger(retention)) throw new UsageError(`invalid --auto_compaction_retention: ${text} revisions is too many`);
  } else {
    retention = parseRetentionMs(text);
    if (retention > RETENTION_MS_MAX) throw new UsageError(`invalid --auto_compaction_retention: "${text}" is longer than 100 years`);
  }
  return retention === 0 ? null : { mode, retention };
}
