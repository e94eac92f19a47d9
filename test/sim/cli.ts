/**
 * Run the Raft simulation from the command line.
 *   npm run sim -- --seeds 100000          run seeds 1..N (across --workers processes, default 2)
 *   npm run sim -- --seed 42               replay one seed and print its trace tail
 *   npm run sim -- --seed 42 --broken voteWithoutLogCheck
 * With --node, the same for the whole-node simulation (test/sim/node: the production driver on a
 * simulated disk, network and clock, with KV clients); --broken also takes its world modes
 * (ignoreSync, divergentReplica, readWithoutFence, resealFlips).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BrokenRules } from '../../src/raft/config.js';
import { defaultOptions, runSeed } from './cluster.js';
import { nodeSimOptions, runNodeSeed, type NodeBrokenMode } from './node/world.js';
import { formatFailure, type FailureReport } from './report.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    start: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    broken: { type: 'string' },
    child: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    node: { type: 'boolean', default: false },
  },
});

type Outcome = FailureReport & { stats: object };

/** One seed of the chosen simulation (the raft core's, or the whole node's with --node). */
async function runOne(seed: number, traceLines?: number): Promise<Outcome> {
  if (values.node) return runNodeSeed(nodeSimOptions(seed, { traceLines, ...(values.broken ? { broken: values.broken as NodeBrokenMode } : {}) }));
  const broken = brokenRules();
  return runSeed(defaultOptions(seed, broken ? { broken } : {}));
}

function extraFlags(): string {
  return `${values.node ? ' --node' : ''}${values.broken ? ` --broken ${values.broken}` : ''}`;
}

function brokenRules(): BrokenRules | undefined {
  if (!values.broken) return undefined;
  return { [values.broken]: true } as BrokenRules;
}

async function runRange(start: number, count: number): Promise<number> {
  let failures = 0;
  let unreported = 0;
  for (let seed = start; seed < start + count; seed++) {
    const r = await runOne(seed);
    if (r.violations.length > 0) {
      failures++;
      unreported++;
      console.log(formatFailure(r, extraFlags()));
    }
    if (process.send && (seed - start) % 100 === 99) {
      process.send({ done: 100, failures: unreported });
      unreported = 0;
    }
  }
  if (process.send) process.send({ done: count % 100, failures: unreported });
  return failures;
}

if (values.seed !== undefined) {
  // A replay keeps the whole-node trace from the start (the raft simulation keeps its own tail).
  const r = await runOne(Number(values.seed), 100_000);
  if (r.violations.length > 0) {
    console.log(formatFailure(r, extraFlags()));
    process.exitCode = 1;
  } else {
    console.log(`seed ${r.seed} ok: ${JSON.stringify(r.stats)}`);
    if (values.verbose) console.log(r.trace.join('\n'));
  }
} else if (values.child) {
  await runRange(Number(values.start), Number(values.seeds));
} else {
  const total = Number(values.seeds ?? '1000');
  const workers = Math.max(1, Number(values.workers));
  const start = Number(values.start);
  const began = performance.now();
  let done = 0;
  let failures = 0;
  let running = workers;
  const per = Math.ceil(total / workers);
  for (let w = 0; w < workers; w++) {
    const from = start + w * per;
    const count = Math.min(per, start + total - from);
    if (count <= 0) {
      running--;
      continue;
    }
    const args = ['--child', '--start', String(from), '--seeds', String(count), ...(values.broken ? ['--broken', values.broken] : []), ...(values.node ? ['--node'] : [])];
    const child = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--import', 'tsx'] });
    child.on('message', (msg: { done: number; failures?: number }) => {
      done += msg.done;
      if (msg.failures) failures += msg.failures;
      process.stderr.write(`\r${done}/${total} seeds, ${failures} failing, ${((performance.now() - began) / 1000).toFixed(0)} s`);
    });
    child.on('exit', () => {
      if (--running > 0) return;
      const secs = (performance.now() - began) / 1000;
      console.log(`\n${total} seeds from ${start}: ${failures} with violations, ${secs.toFixed(1)} s (${workers} workers)`);
      process.exitCode = failures > 0 ? 1 : 0;
    });
  }
}
