/**
 * Long-running gossip simulation (deterministic, simulated time): `npm run sim:gossip [-- --quick]`.
 * Prints, for 5, 50 and 500 members with memberlist LAN defaults: crash detection time (first suspect,
 * first dead, all dead: p50/p99), false positives at 5% loss and with one member stalled 3 s every
 * minute, ms/gossip rounds until a metadata update reaches everyone, and bytes/packets per member/s.
 *
 * `npm run sim:gossip -- --heal [--quick]` prints only the partition-heal figures: for 3, 5 and 50
 * members, cut one member (and, from 5 up, a minority) off until both sides hold each other dead,
 * heal, and time until every member sees every member alive again (p50/p99/max).
 */
import { LAN_DEFAULTS } from '../src/gossip/index.js';
import type { SimCluster, SimNode } from '../test/gossip/sim/cluster.js';
import {
  bytesPerMemberPerSecond, countFalsePositives, crashAndDetect, metaConvergenceMs, partitionAndHeal, percentile, startCluster,
} from '../test/gossip/sim/scenarios.js';

const quick = process.argv.includes('--quick');
const healOnly = process.argv.includes('--heal');
const HOUR_MS = 3_600_000;

interface Plan {
  n: number;
  detectTrials: number;
  lossHours: number;
  stallHours: number;
}

const plans: Plan[] = quick
  ? [{ n: 5, detectTrials: 20, lossHours: 1, stallHours: 0.25 }, { n: 50, detectTrials: 4, lossHours: 0.1, stallHours: 0.05 }, { n: 500, detectTrials: 1, lossHours: 0.01, stallHours: 0 }]
  : [{ n: 5, detectTrials: 200, lossHours: 10, stallHours: 2 }, { n: 50, detectTrials: 30, lossHours: 1, stallHours: 0.5 }, { n: 500, detectTrials: 5, lossHours: 0.05, stallHours: 0.05 }];

const fmt = (v: number | null): string => (v === null || Number.isNaN(v) ? 'n/a' : `${(v / 1000).toFixed(2)} s`);

/** One converged cluster per size, reused by every measurement that allows it. */
function sharedCluster(plan: Plan): SimCluster {
  return startCluster(plan.n, { seed: 77 + plan.n }, plan.n >= 500 ? 10_000 : 0);
}

function detection(plan: Plan, shared: SimCluster): void {
  const first: number[] = [];
  const dead: number[] = [];
  const all: number[] = [];
  let missed = 0;
  for (let t = 0; t < plan.detectTrials; t++) {
    // Small clusters: a fresh one per trial. 500: the shared cluster, a different victim each time.
    const c: SimCluster = plan.n >= 500 ? shared : startCluster(plan.n, { seed: 1000 * plan.n + t });
    c.runFor(10_000 + (t * 137) % 1000);
    const alive = c.nodes.filter((x) => !x.crashed);
    const victim = alive[1 + ((t * 7) % (alive.length - 1))] as SimNode;
    const d = crashAndDetect(c, victim, 180_000);
    if (d.firstSuspectMs !== null) first.push(d.firstSuspectMs);
    if (d.firstDeadMs !== null) dead.push(d.firstDeadMs);
    if (d.allDeadMs === null) missed++;
    else all.push(d.allDeadMs);
  }
  console.log(`  crash detection, ${plan.detectTrials} trials: first suspect p50 ${fmt(percentile(first, 50))} p99 ${fmt(percentile(first, 99))}`);
  console.log(`    first member declares dead p50 ${fmt(percentile(dead, 50))} p99 ${fmt(percentile(dead, 99))}; `
    + `all members see dead p50 ${fmt(percentile(all, 50))} p99 ${fmt(percentile(all, 99))}`
    + (missed > 0 ? `; NOT DETECTED in ${missed}` : ''));
}

function convergenceAndBandwidth(plan: Plan, c: SimCluster): void {
  c.runFor(60_000);
  const bw = bytesPerMemberPerSecond(c, 120_000);
  const times: number[] = [];
  const trials = plan.n >= 500 ? 5 : 20;
  for (let i = 0; i < trials; i++) {
    const ms = metaConvergenceMs(c, c.nodes[(i * 13) % plan.n] as SimNode);
    if (ms !== null) times.push(ms);
    c.runFor(3_000);
  }
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  console.log(`  metadata update reaches everyone (${times.length}/${trials}): p50 ${p50.toFixed(0)} ms (${(p50 / LAN_DEFAULTS.gossipIntervalMs).toFixed(1)} gossip rounds), `
    + `p99 ${p99.toFixed(0)} ms (${(p99 / LAN_DEFAULTS.gossipIntervalMs).toFixed(1)} rounds)`);
  console.log(`  steady state: ${bw.bytes.toFixed(0)} payload bytes/member/s sent (UDP + push/pull, no IP/UDP headers), ${bw.packets.toFixed(2)} UDP packets/member/s`);
}

function falsePositives(plan: Plan, c: SimCluster): void {
  if (plan.lossHours > 0) {
    c.lossRate = 0.05;
    const fp = countFalsePositives(c, plan.lossHours * HOUR_MS);
    c.lossRate = 0;
    console.log(`  5% loss for ${plan.lossHours} h: ${fp.deads} false dead events; ${fp.suspects} suspect events (summed over observers), all refuted (${fp.refutes} refutations)`);
  }
  if (plan.stallHours > 0) {
    const victim = c.nodes.find((x) => !x.crashed && x !== c.nodes[0]) as SimNode;
    const fp = countFalsePositives(c, plan.stallHours * HOUR_MS, { node: victim, everyMs: 60_000, forMs: 3_000 });
    console.log(`  one member stalled 3 s every minute for ${plan.stallHours} h: ${fp.deads} false dead events; ${fp.suspects} suspect events; `
      + `stalled member's health score reached ${fp.maxHealthScore}`);
  }
}

/** Heal trials: small clusters get a fresh cluster per trial; 50 reuses one, rotating who is cut off. */
function heal(n: number, isolatedCount: number, trials: number): void {
  const times: number[] = [];
  const deadMs: number[] = [];
  let never = 0;
  let shared: SimCluster | null = null;
  for (let t = 0; t < trials; t++) {
    const c: SimCluster = n >= 50 ? (shared ??= startCluster(n, { seed: 500 + n })) : startCluster(n, { seed: 7000 + 100 * n + t });
    c.runFor(5_000 + ((t * 389) % 1000));
    const live = c.nodes.filter((x) => !x.crashed);
    const first = (t * 7) % live.length;
    const isolated = Array.from({ length: isolatedCount }, (_, i) => live[(first + i) % live.length] as SimNode);
    // Vary where in the periodic schedules the heal falls.
    const r = partitionAndHeal(c, isolated, (t * 1237) % 5000);
    if (r === null) continue;
    deadMs.push(r.declaredDeadMs);
    if (r.healMs === null) never++;
    else times.push(r.healMs);
    if (n >= 50) c.runFor(10_000);
  }
  console.log(`  ${isolatedCount} of ${n} cut off until declared dead (p50 ${fmt(percentile(deadMs, 50))}), then healed, ${trials} trials: `
    + `alive in every member's view after p50 ${fmt(percentile(times, 50))} p99 ${fmt(percentile(times, 99))} max ${fmt(times.length > 0 ? Math.max(...times) : null)}`
    + (never > 0 ? `; NOT HEALED within 120 s in ${never}` : ''));
}

const started = performance.now();
if (healOnly) {
  console.log(`gossip partition heal, memberlist LAN defaults, ${quick ? 'quick' : 'full'} run`);
  for (const [n, cuts, trials] of [[3, [1], quick ? 20 : 200], [5, [1, 2], quick ? 20 : 200], [50, [1, 24], quick ? 5 : 30]] as const) {
    const t0 = performance.now();
    console.log(`\n${n} members`);
    for (const k of cuts) heal(n, k, trials);
    console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s wall)`);
  }
  console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
  process.exit(0);
}
console.log(`gossip simulation, memberlist LAN defaults, ${quick ? 'quick' : 'full'} run`);
for (const plan of plans) {
  const t0 = performance.now();
  console.log(`\n${plan.n} members`);
  const shared = sharedCluster(plan);
  convergenceAndBandwidth(plan, shared);
  falsePositives(plan, shared);
  detection(plan, shared);
  console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s wall)`);
}
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
