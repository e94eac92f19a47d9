/** What a failing seed of either simulation reports. */
export interface FailureReport {
  readonly seed: number;
  readonly nodes: number;
  readonly violations: readonly string[];
  readonly trace: readonly string[];
}

/** What a failing seed prints: the seed, a one-line replay command, the violations and the trace tail. */
export function formatFailure(r: FailureReport, extraFlags = ''): string {
  return [
    `SIMULATION VIOLATION seed=${r.seed} nodes=${r.nodes}`,
    `replay: npm run sim -- --seed ${r.seed}${extraFlags}`,
    ...r.violations.map((v) => `  ${v}`),
    'trace tail:',
    ...r.trace.map((l) => `  ${l}`),
  ].join('\n');
}
