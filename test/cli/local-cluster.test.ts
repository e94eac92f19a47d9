/**
 * Stopping `npm start` (scripts/local-cluster.ts): a Ctrl-C, which the terminal delivers as SIGINT to
 * the whole foreground process group, and a signal to the npm process alone (`npm start &` then
 * `kill $!`) must each stop all three nodes gracefully. Real npm, real node processes, loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './processes.js';

const UP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
let dir = '';
/** Every node pid any run printed, so teardown can kill what a failed run left behind. */
const nodePids = new Set<number>();
let current: ChildProcess | null = null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkv-npm-start-'));
});

afterAll(async () => {
  if (current?.pid !== undefined && current.exitCode === null) killQuietly(-current.pid, 'SIGKILL');
  for (const pid of nodePids) killQuietly(pid, 'SIGKILL');
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Run {
  readonly npm: ChildProcess;
  readonly pids: number[];
  /** All output, once every process holding the pipes (npm, the script, the nodes) has exited. */
  readonly closed: Promise<string>;
}

/** `npm start` in a process group of its own (as a shell job is), once it reports the cluster up. */
async function npmStart(): Promise<Run> {
  const npm = spawn('npm', ['start', '--', `--data_dir=${dir}`], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  current = npm;
  let out = '';
  const closed = new Promise<string>((resolve) => {
    let open = 2;
    const done = (): void => {
      if (--open === 0) resolve(out);
    };
    npm.stdout!.on('close', done);
    npm.stderr!.on('close', done);
  });
  npm.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  npm.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + UP_TIMEOUT_MS;
  while (!/local cluster is up[\s\S]*Ctrl-C stops/.test(out)) {
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not bring the cluster up: ${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pids = [...out.matchAll(/node \d: .* pid (\d+)/g)].map((m) => Number(m[1]));
  for (const p of pids) nodePids.add(p);
  return { npm, pids, closed };
}

async function expectAllStoppedGracefully(run: Run): Promise<void> {
  expect(run.pids).toHaveLength(3);
  let timer: NodeJS.Timeout | undefined;
  const out = await Promise.race([
    run.closed,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the processes did not all exit')), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  expect(out).toMatch(/all nodes stopped gracefully: node 1 stopped, node 2 stopped, node 3 stopped/);
  expect(out).not.toMatch(/second signal|forcing exit/);
  expect(run.pids.filter(alive)).toEqual([]);
}

describe('stopping npm start', () => {
  it('Ctrl-C (SIGINT to the whole process group) stops all three nodes gracefully, once each', async () => {
    const run = await npmStart();
    process.kill(-run.npm.pid!, 'SIGINT');
    await expectAllStoppedGracefully(run);
  });

  it('SIGTERM to the npm process alone (npm start & then kill $!) stops all three nodes gracefully', async () => {
    const run = await npmStart();
    process.kill(run.npm.pid!, 'SIGTERM');
    await expectAllStoppedGracefully(run);
  });

  it('SIGINT to the npm process alone does too', async () => {
    const run = await npmStart();
    process.kill(run.npm.pid!, 'SIGINT');
    await expectAllStoppedGracefully(run);
  });
});
