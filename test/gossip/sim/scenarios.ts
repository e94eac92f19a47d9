import { MemberState } from '../../../src/gossip/index.js';
import { SimCluster, simMeta } from './cluster.js';
import type { SimNetworkOptions, SimNode } from './cluster.js';

/** Shared scenarios for the vitest suite (small, fast) and scripts/gossip-sim.ts (large, long). */

export function allSee(observers: readonly SimNode[], name: string, state: MemberState): boolean {
  return observers.every((o) => o.core.member(name)?.state === state);
}

export function converged(nodes: readonly SimNode[]): boolean {
  const live = nodes.filter((n) => !n.crashed);
  return live.every((n) => n.core.liveCount() === live.length);
}

/** Starts n members that all join through member 0, and runs until everyone sees everyone. */
export function startCluster(n: number, opts: SimNetworkOptions, joinSpreadMs = 0): SimCluster {
  const c = new SimCluster(opts);
  const nodes = Array.from({ length: n }, (_, i) => c.addNode(`n${i}`));
  const seed = nodes[0] as SimNode;
  for (const node of nodes.slice(1)) {
    if (joinSpreadMs > 0) c.runFor(joinSpreadMs / n);
    c.join(node, [seed]);
  }
  const ok = c.runUntilTrue(() => converged(c.nodes), 120_000, 50);
  if (ok === null) throw new Error(`cluster of ${n} did not converge`);
  return c;
}

export interface Detection {
  firstSuspectMs: number | null;
  firstDeadMs: number | null;
  allDeadMs: number | null;
}

/** Crashes one member and measures when the others suspect it and declare it dead. */
export function crashAndDetect(c: SimCluster, victim: SimNode, limitMs = 120_000): Detection {
  const t0 = c.nowMs;
  let firstSuspectMs: number | null = null;
  let firstDeadMs: number | null = null;
  c.onEvent = (_n, e) => {
    if (e.member.name !== victim.name) return;
    if (e.kind === 'suspect' && firstSuspectMs === null) firstSuspectMs = e.atMs - t0;
    if (e.kind === 'dead' && firstDeadMs === null) firstDeadMs = e.atMs - t0;
  };
  c.crash(victim);
  const others = c.nodes.filter((n) => !n.crashed);
  const done = c.runUntilTrue(() => allSee(others, victim.name, MemberState.Dead), limitMs, 20);
  c.onEvent = null;
  return { firstSuspectMs, firstDeadMs, allDeadMs: done === null ? null : done - t0 };
}

/** Member `source` updates its metadata; returns ms until every live member holds it (null: never). */
export function metaConvergenceMs(c: SimCluster, source: SimNode, limitMs = 60_000): number | null {
  const t0 = c.nowMs;
  const version = `v${t0}`;
  source.core.updateMeta({ ...simMeta(source.name), version });
  c.join(source, []); // drain the new broadcast into the network
  const live = c.nodes.filter((n) => !n.crashed);
  const done = c.runUntilTrue(() => live.every((n) => n.core.member(source.name)?.meta?.version === version), limitMs, 5);
  return done === null ? null : done - t0;
}

export interface FalsePositives {
  suspects: number;
  deads: number;
  refutes: number;
  maxHealthScore: number;
}

/** Runs a healthy cluster and counts suspect/dead events about members that never crashed. */
export function countFalsePositives(
  c: SimCluster, durationMs: number, stall?: { node: SimNode; everyMs: number; forMs: number },
): FalsePositives {
  const fp: FalsePositives = { suspects: 0, deads: 0, refutes: 0, maxHealthScore: 0 };
  const refutesBefore = c.nodes.reduce((s, n) => s + n.core.stats.refutes, 0);
  c.keepEventLog = false;
  c.onEvent = (_n, e) => {
    if (e.kind === 'suspect') fp.suspects++;
    if (e.kind === 'dead') fp.deads++;
  };
  const end = c.nowMs + durationMs;
  const stepMs = stall?.everyMs ?? 60_000;
  while (c.nowMs < end) {
    const stepEnd = Math.min(end, c.nowMs + stepMs);
    if (stall !== undefined) {
      c.stall(stall.node, stall.forMs);
      // Sample the health score just after the stall, when Lifeguard should have raised it.
      c.runFor(Math.min(stall.forMs + 50, stepEnd - c.nowMs));
      fp.maxHealthScore = Math.max(fp.maxHealthScore, stall.node.core.healthScore);
    }
    c.runUntil(stepEnd);
  }
  c.onEvent = null;
  fp.refutes = c.nodes.reduce((s, n) => s + n.core.stats.refutes, 0) - refutesBefore;
  return fp;
}

export function bytesPerMemberPerSecond(c: SimCluster, durationMs: number): { bytes: number; packets: number } {
  const b0 = c.nodes.reduce((s, n) => s + n.bytesSent, 0);
  const p0 = c.nodes.reduce((s, n) => s + n.packetsSent, 0);
  c.runFor(durationMs);
  const live = c.nodes.filter((n) => !n.crashed).length;
  const secs = durationMs / 1000;
  return {
    bytes: (c.nodes.reduce((s, n) => s + n.bytesSent, 0) - b0) / live / secs,
    packets: (c.nodes.reduce((s, n) => s + n.packetsSent, 0) - p0) / live / secs,
  };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, idx)] as number;
}

/** Every live member sees every other live member strictly alive (not suspect, dead or left). */
export function allAliveEverywhere(nodes: readonly SimNode[]): boolean {
  const live = nodes.filter((n) => !n.crashed);
  return live.every((o) => live.every((m) => o.core.member(m.name)?.state === MemberState.Alive));
}

export interface HealResult {
  /** Sim time from cutting the network until the rest held the isolated members dead. */
  readonly declaredDeadMs: number;
  /** Sim time from the heal until every member sees every member alive; null: not within the limit. */
  readonly healMs: number | null;
}

/**
 * Cuts `isolated` off from the rest until the rest have declared every isolated member dead (plus
 * `extraMs`, to vary where the heal falls in the periodic schedules), heals, and times until every
 * member sees every member alive again. The isolated side's own view is whatever it reached by then
 * (a lone member's Lifeguard score slows its probing, so it may still hold some of the rest alive).
 * Returns null if the rest never declared the isolated members dead.
 */
export function partitionAndHeal(c: SimCluster, isolated: readonly SimNode[], extraMs: number, limitMs = 120_000): HealResult | null {
  const rest = c.nodes.filter((n) => !n.crashed && !isolated.includes(n));
  const t0 = c.nowMs;
  c.partition([isolated, rest]);
  const declared = c.runUntilTrue(() => isolated.every((i) => allSee(rest, i.name, MemberState.Dead)), limitMs, 20);
  if (declared === null) {
    c.partition(null);
    return null;
  }
  c.runFor(extraMs);
  c.partition(null);
  const healedAt = c.nowMs;
  const done = c.runUntilTrue(() => allAliveEverywhere(c.nodes), limitMs, 10);
  return { declaredDeadMs: declared - t0, healMs: done === null ? null : done - healedAt };
}
