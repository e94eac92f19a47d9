import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHistory, checkKeyOperations } from './check.js';
import { generateLinearizableHistory } from './generate.js';
import type { FaultInterval } from './history.js';
import { InvalidHistoryError } from './history.js';
import { HistoryBuilder } from './history-builder.js';
import { renderTimelineHtml } from './timeline.js';
import { readViolation, writeViolation } from './violation-file.js';

const faults: FaultInterval[] = [
  { kind: 'partition', startMs: 50, endMs: 120, nodes: ['n1', 'n2|n3'], note: 'majority/minority' },
  { kind: 'kill -9', startMs: 200, endMs: null, nodes: ['n2'] },
];

describe('timeline', () => {
  it('draws one lane per client, one bar per operation, shaded faults, and escaped hover titles', () => {
    const h = new HistoryBuilder('k<&>')
      .put('c2', '<script>', [0, 10])
      .get('c10', '<script>', [20, 30])
      .put('c1', 'y', [40, 60], 'unknown')
      .put('c1', 'z', [70, 80], 'fail');
    const html = renderTimelineHtml(h.ops, faults, { title: 'demo', highlightIds: new Set([2]) });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html.match(/class="lane-label"/g)).toHaveLength(3);
    // Numeric-aware lane order: c1, c2, c10.
    expect(html.indexOf('client c1<')).toBeLessThan(html.indexOf('client c2<'));
    expect(html.indexOf('client c2<')).toBeLessThan(html.indexOf('client c10<'));
    expect(html.match(/<g class="op /g)).toHaveLength(4);
    expect(html).toContain('class="op ok highlight"');
    expect(html).toContain('class="op unknown"');
    expect(html).toContain('class="op fail"');
    expect(html.match(/<g class="fault">/g)).toHaveLength(2);
    expect(html).toContain('partition [n1, n2|n3]');
    expect(html).toContain('200 → end ms');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('renders an empty history and a large one', () => {
    expect(renderTimelineHtml([], [])).toContain('<svg');
    const big = generateLinearizableHistory({ seed: 3, operationCount: 2_000, keys: ['a', 'b'], clientCount: 5, unknownRate: 0.02, failRate: 0.02 });
    const html = renderTimelineHtml(big, faults);
    expect(html.match(/<g class="op /g)).toHaveLength(2_000);
  });
});

describe('violation files', () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it('writes the minimal history as JSON plus a timeline, and reads it back as a violation', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-checker-'));
    const h = new HistoryBuilder('user/42').put('a', 'old', [0, 5]).put('b', 'new', [100, 140]).get('c', 'old', [150, 155]).get('d', 'new', [160, 170]);
    const result = checkHistory(h.ops);
    const key = result.keys[0];
    if (key === undefined) throw new Error('no key result');
    const written = await writeViolation(join(dir, 'nested'), key, { faults, context: { seed: 17 } });
    expect(written.jsonPath).toMatch(/violation-user_42-[0-9a-f]{8}\.json$/);
    const file = await readViolation(written.jsonPath);
    expect(file.key).toBe('user/42');
    expect(file.minimal.map((op) => op.id)).toEqual([1, 2, 3]);
    expect(file.context).toEqual({ seed: 17 });
    // Only the partition overlaps the minimal history's time span.
    expect(file.faults.map((f) => f.kind)).toEqual(['partition']);
    expect(checkKeyOperations(file.minimal).verdict).toBe('violation');
    const html = await readFile(written.htmlPath, 'utf8');
    expect(html).toContain('linearizability violation on key &quot;user/42&quot;');
  });

  it('refuses to write a key that has no violation', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-checker-'));
    const ok = checkHistory(new HistoryBuilder().put('a', 'x', [0, 1]).ops).keys[0];
    if (ok === undefined) throw new Error('no key result');
    await expect(writeViolation(dir, ok)).rejects.toBeInstanceOf(InvalidHistoryError);
  });
});
