/**
 * `npm run heal:gossip [-- --trials 20 --sizes 3,5]`: partition heal on real sockets. Per size, starts
 * that many gossip agents on 127.0.0.1 (UDP + TCP push/pull, memberlist LAN defaults) in this
 * process; per trial, cuts one member off (dropping its packets through the agents' linkUp hook)
 * until every other member holds it dead, heals, and times until every member sees every member
 * alive. Prints p50/p99/max per size. The simulated counterpart is `npm run sim:gossip -- --heal`.
 */
import { cutAndHealMs, LoopbackCuts, startLoopbackCluster, waitFor, allAliveEverywhere } from '../test/gossip/loopback-heal.js';
import { percentile } from '../test/gossip/sim/scenarios.js';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1] ?? dflt;
}

const trials = Number(flag('trials', '20'));
const sizes = flag('sizes', '3,5').split(',').map(Number);
if (!Number.isInteger(trials) || trials <= 0 || sizes.some((n) => !Number.isInteger(n) || n < 2)) {
  throw new Error('--trials needs a positive integer, --sizes a list of integers >= 2');
}
const HEAL_LIMIT_MS = 120_000;

console.log(`gossip partition heal on loopback UDP/TCP, memberlist LAN defaults, ${trials} trials per size`);
for (const n of sizes) {
  const cuts = new LoopbackCuts();
  const agents = await startLoopbackCluster(n, cuts);
  const times: number[] = [];
  try {
    for (let t = 0; t < trials; t++) {
      const ms = await cutAndHealMs(agents, [agents[t % n]!], cuts, HEAL_LIMIT_MS);
      times.push(ms);
      console.log(`  ${n} members, trial ${t + 1}: alive everywhere ${(ms / 1000).toFixed(2)} s after the heal`);
      // Let the refutations settle and vary where the next cut falls in the periodic schedules.
      await new Promise((r) => setTimeout(r, 2_000 + 137 * t % 1000));
      await waitFor(() => allAliveEverywhere(agents), 30_000, 'convergence between trials');
    }
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }
  const s = (v: number): string => `${(v / 1000).toFixed(2)} s`;
  console.log(`${n} members: heal to alive in every view p50 ${s(percentile(times, 50))} p99 ${s(percentile(times, 99))} max ${s(Math.max(...times))}`);
}
