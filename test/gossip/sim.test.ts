import { describe, expect, it } from 'vitest';
import { MemberState } from '../../src/gossip/index.js';
import { SimCluster } from './sim/cluster.js';
import {
  allSee, converged, countFalsePositives, crashAndDetect, metaConvergenceMs, startCluster,
} from './sim/scenarios.js';

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
