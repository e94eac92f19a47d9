import { describe, expect, it } from 'vitest';
import { MemberState } from '../../src/gossip/index.js';
import { SimCluster } from './sim/cluster.js';
import type { SimNode } from './sim/cluster.js';
import {
  allAliveEverywhere, allSee, converged, countFalsePositives, crashAndDetect, metaConvergenceMs, partitionAndHeal, startCluster,
} from './sim/scenarios.js';

/** The LAN profile's bound on "alive in every member's view" after a partition heals (issue 10). */
const HEAL_BOUND_MS = 5_000;

describe('gossip simulation (deterministic, simulated time)', () => {
  it('5 members converge, detect a crash within memberlist bounds, and see a leave as left', () => {
    const c = startCluster(5, { seed: 1 });
    const [a, , , d, e] = c.nodes;
    c.runFor(5_000);
    const det = crashAndDetect(c, e!);
    expect(det.allDeadMs).not.toBeNull();
    expect(det.allDeadMs!).toBeLessThan(30_000);
    d!.core.leave();
    c.join(d!, []);
    const others = c.nodes.filter((n) => n !== d && n !== e);
    expect(c.runUntilTrue(() => allSee(others, d!.name, MemberState.Left), 5_000)).not.toBeNull();
    expect(c.runUntilTrue(() => d!.core.isLeaveComplete(), 5_000)).not.toBeNull();
    expect(c.events.some((x) => x.event.kind === 'dead' && x.event.member.name === d!.name)).toBe(false);
    expect(a!.core.member(e!.name)?.state).toBe(MemberState.Dead);
  });

  it('a metadata update reaches everyone within a few gossip rounds', () => {
    const c = startCluster(5, { seed: 2 });
    c.runFor(2_000);
    const ms = metaConvergenceMs(c, c.nodes[3]!);
    expect(ms).not.toBeNull();
    expect(ms!).toBeLessThan(1_000);
  });

  it('no false positives at 5% loss, and a member stalled for 3 s refutes instead of dying', () => {
    const c = startCluster(5, { seed: 3, lossRate: 0.05 });
    const lossy = countFalsePositives(c, 10 * 60_000);
    expect(lossy.deads).toBe(0);
    const stalled = c.nodes[2]!;
    const fp = countFalsePositives(c, 5 * 60_000, { node: stalled, everyMs: 60_000, forMs: 3_000 });
    expect(fp.deads).toBe(0);
    expect(fp.maxHealthScore).toBeGreaterThanOrEqual(3);
    expect(converged(c.nodes)).toBe(true);
  });

  it('a partition longer than the suspicion timeout heals through periodic rejoin', () => {
    const c = startCluster(5, { seed: 4, config: { rejoinIntervalMs: 10_000, pushPullIntervalMs: 30_000 } });
    const left = c.nodes.slice(0, 3);
    const right = c.nodes.slice(3);
    c.partition([left, right]);
    expect(c.runUntilTrue(() => allSee(left, 'n4', MemberState.Dead) && allSee(right, 'n0', MemberState.Dead), 60_000)).not.toBeNull();
    c.partition(null);
    const healed = c.runUntilTrue(() => converged(c.nodes), 60_000, 100);
    expect(healed).not.toBeNull();
  });

  it('after a partition heals, members declared dead are alive in every view within 5 s (LAN defaults)', () => {
    const heals: number[] = [];
    for (const n of [3, 5]) {
      for (let seed = 0; seed < 8; seed++) {
        const c = startCluster(n, { seed: 40 + 10 * n + seed });
        c.runFor(3_000 + 111 * seed);
        const r = partitionAndHeal(c, [c.nodes[seed % n]!], 617 * seed);
        expect(r).not.toBeNull();
        expect(r!.healMs).not.toBeNull();
        heals.push(r!.healMs!);
      }
    }
    const big = startCluster(50, { seed: 41 });
    big.runFor(3_000);
    for (const cut of [[big.nodes[7]!], big.nodes.slice(10, 30)]) {
      const r = partitionAndHeal(big, cut, 1_500);
      expect(r?.healMs).not.toBeNull();
      heals.push(r!.healMs!);
    }
    for (const ms of heals) expect(ms).toBeLessThan(HEAL_BOUND_MS);
  }, 60_000);

  it('a member that left while others were cut off stays left everywhere after the heal', () => {
    const c = startCluster(5, { seed: 6 });
    c.runFor(3_000);
    const [, , , leaver, cut] = c.nodes as [SimNode, SimNode, SimNode, SimNode, SimNode];
    const rest = c.nodes.filter((x) => x !== cut);
    c.partition([rest, [cut]]);
    leaver.core.leave();
    c.join(leaver, []);
    expect(c.runUntilTrue(() => leaver.core.isLeaveComplete(), 5_000)).not.toBeNull();
    c.crash(leaver); // a leaving member stops once its goodbye has spread
    const others = c.nodes.filter((x) => x !== leaver && x !== cut);
    expect(c.runUntilTrue(() => allSee(others, cut.name, MemberState.Dead) && cut.core.member(leaver.name)?.state === MemberState.Dead, 120_000)).not.toBeNull();
    const healAt = c.nowMs;
    c.partition(null);
    const healed = c.runUntilTrue(() => allAliveEverywhere(c.nodes.filter((x) => x !== leaver))
      && allSee(c.nodes.filter((x) => !x.crashed), leaver.name, MemberState.Left), 30_000);
    expect(healed).not.toBeNull();
    expect(healed! - healAt).toBeLessThan(HEAL_BOUND_MS);
    c.runFor(60_000);
    expect(allSee(c.nodes.filter((x) => !x.crashed), leaver.name, MemberState.Left)).toBe(true);
    const after = c.events.filter((e) => e.event.atMs >= healAt && e.event.member.name === leaver.name);
    expect(after.map((e) => e.event.kind)).toEqual(['left']); // the cut-off member's late "left", nothing else
  });

  it('a crashed member that restarts with the same name out-bids its old incarnation and is alive again', () => {
    const c = startCluster(4, { seed: 5, lossRate: 0.02 });
    const victim = c.nodes[2]!;
    expect(crashAndDetect(c, victim).allDeadMs).not.toBeNull();
    const reborn = c.restart(victim);
    c.join(reborn, [c.nodes[0]!]);
    expect(c.runUntilTrue(() => converged(c.nodes), 5_000)).not.toBeNull();
    expect(reborn.core.incarnation).toBeGreaterThan(1);
    // No member ever reports an event about itself (a node never marks itself dead).
    expect(c.events.some((e) => e.node === e.event.member.name)).toBe(false);
  });

  it('is deterministic: the same seed gives the same history', () => {
    const run = (): string => {
      const c = new SimCluster({ seed: 9, lossRate: 0.1 });
      const ns = [0, 1, 2, 3].map((i) => c.addNode(`m${i}`));
      ns.slice(1).forEach((n) => c.join(n, [ns[0]!]));
      c.runFor(20_000);
      c.crash(ns[1]!);
      c.runFor(20_000);
      return JSON.stringify(c.events.map((e) => [e.node, e.event.kind, e.event.member.name, e.event.atMs]));
    };
    expect(run()).toBe(run());
  });
});
