/**
 * The scaling formulas of memberlist (util.go), kept pure so the tests can pin their values. Note
 * that memberlist's comments say log(N+1) but its code uses log10; we follow the code.
 */

/** Suspicion min timeout: suspicionMult * max(1, log10(max(1, n))) * probeInterval. */
export function suspicionMinTimeoutMs(suspicionMult: number, memberCount: number, probeIntervalMs: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, memberCount)));
  // memberlist keeps three decimals of the scale before multiplying: same rounding, same table values.
  return Math.floor((suspicionMult * Math.floor(scale * 1000) * probeIntervalMs) / 1000);
}

/** How many times each broadcast is retransmitted: retransmitMult * ceil(log10(n + 1)). */
export function retransmitLimit(retransmitMult: number, memberCount: number): number {
  return retransmitMult * Math.ceil(Math.log10(memberCount + 1));
}

/**
 * Independent confirmations wanted before a suspicion reaches its min timeout: suspicionMult - 2, or
 * none when too few other members exist to confirm (memberlist suspectNode).
 */
export function suspicionConfirmationsWanted(suspicionMult: number, memberCount: number): number {
  const k = suspicionMult - 2;
  return memberCount - 2 < k ? 0 : Math.max(0, k);
}

/**
 * Remaining suspicion time once `confirmations` independent members agree: the timeout falls
 * logarithmically from max toward min (Lifeguard "dogpile"), minus the time already elapsed.
 */
export function remainingSuspicionMs(
  confirmations: number, wanted: number, elapsedMs: number, minMs: number, maxMs: number,
): number {
  const frac = wanted <= 0 ? 1 : Math.log(confirmations + 1) / Math.log(wanted + 1);
  const timeout = Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * frac));
  return timeout - elapsedMs;
}

/** Push/pull interval grows beyond 32 members so anti-entropy cost per member stays flat. */
export function pushPullScaleMs(intervalMs: number, memberCount: number): number {
  const threshold = 32;
  if (memberCount <= threshold) return intervalMs;
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(threshold)) + 1;
  return multiplier * intervalMs;
}

/**
 * Chance that one member tries to reconnect to a dead member this round (Serf's reconnect): dead /
 * live, capped at 1, live counting ourselves. Summed over the live members, each dead member is tried
 * about once a round, and a member cut off from most of the cluster (which sees most of it dead) tries
 * every round.
 */
export function reconnectChance(deadCount: number, liveCount: number): number {
  if (deadCount <= 0) return 0;
  return Math.min(1, deadCount / Math.max(1, liveCount));
}
