/**
 * Run the Raft simulation from the command line.
 *   npm run sim -- --seeds 100000          run seeds 1..N (across --workers processes, default 2)
 *   npm run sim -- --seed 42               replay one seed and print its trace tail
 *   npm run sim -- --seed 42 --broken voteWithoutLogCheck
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BrokenRules } from '../../src/raft/config.js';
import { defaultOptions, runSeed } from './cluster.js';
import { formatFailure } from './report.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    start: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    broken: { type: 'string' },
    child: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

function brokenRules(): BrokenRules | undefined {
  if (!values.broken) return undefined;
  return { [values.broken]: true } as BrokenRules;
}

function runRange(start: number, count: number): number {
  const broken = brokenRules();
  let failures = 0;
  let unreported = 0;
  for (let seed = start; seed < start + count; seed++) {
    const r = runSeed(defaultOptions(seed, broken ? { broken } : {}));
    if (r.violations.length > 0) {
      failures++;
      unreported++;
      console.log(formatFailure(r, values.broken ? ` --broken ${values.broken}` : ''));
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
  const broken = brokenRules();
  const r = runSeed(defaultOptions(Number(values.seed), broken ? { broken } : {}));
  if (r.violations.length > 0) {
    console.log(formatFailure(r));
    process.exitCode = 1;
  } else {
    console.log(`seed ${r.seed} ok: ${JSON.stringify(r.stats)}`);
    if (values.verbose) console.log(r.trace.join('\n'));
  }
} else if (values.child) {
  runRange(Number(values.start), Number(values.seeds));
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
    const args = ['--child', '--start', String(from), '--seeds', String(count), ...(values.broken ? ['--broken', values.broken] : [])];
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
