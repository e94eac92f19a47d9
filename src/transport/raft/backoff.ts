import type { Random } from '../../common/random.js';

/** Exponents beyond this already exceed any sane cap; stops 2^n from overflowing. */
const EXPONENT_MAX = 30;

/**
 * Delay before reconnect attempt `attempt` (1 = first retry): exponential from `minMs`, capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so peers that lost a node together do not
 * reconnect in lockstep, yet never retry sooner than half the nominal delay.
 */
export function reconnectDelayMs(attempt: number, minMs: number, maxMs: number, random: Random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), EXPONENT_MAX);
  const nominal = Math.min(maxMs, minMs * 2 ** exponent);
  const half = nominal / 2;
  return Math.floor(half + random.float() * half);
}
