/**
 * Raft layer throughput and latency: a 3-node RaftNode cluster over loopback TCP in one process,
 * each node with an in-memory state machine and its log in a temp dir (real classic-level, real fsync).
 *   npm run bench:raft -- [--duration_s 10] [--concurrency 1,16,128] [--command_bytes 256] [--fsync_s 3]
 * Each case keeps `concurrency` apply() calls in flight on the leader for duration_s. The fsync line
 * is this disk's floor for a durable write: 256-byte write + fsync in a loop on a file in the same dir.
 * Prints a readable table, then one JSON line, to stdout.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RaftNode } from '../src/node/raft-node.js';
import { freePort } from '../test/support/free-port.js';
import { MemoryStateMachine } from '../test/node/memory-sm.js';

/** Latency histogram: 2% buckets from 10 us, fixed memory. */
const BUCKET_GROWTH = 1.02;
const BUCKET_MIN_US = 10;
const BUCKETS = 1200;
const LEADER_TIMEOUT_MS = 20_000;

class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  total = 0;
  private maxMs = 0;
  record(ms: number): void {
    const us = Math.max(ms * 1000, BUCKET_MIN_US);
    const b = Math.min(BUCKETS - 1, Math.floor(Math.log(us / BUCKET_MIN_US) / Math.log(BUCKET_GROWTH)));
    this.counts[b] = (this.counts[b] ?? 0) + 1;
    this.total++;
    this.maxMs = Math.max(this.maxMs, ms);
  }
  /** Upper edge of the bucket holding quantile q, in ms. */
  quantileMs(q: number): number {
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] ?? 0;
      if (seen >= rank && seen > 0) return round3(Math.min(this.maxMs, (BUCKET_MIN_US * BUCKET_GROWTH ** (b + 1)) / 1000));
    }
    return round3(this.maxMs);
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

interface Config {
  durationS: number;
  concurrency: number[];
  commandBytes: number;
  fsyncS: number;
}

function parseConfig(argv: readonly string[]): Config {
  const cfg: Config = { durationS: 10, concurrency: [1, 16, 128], commandBytes: 256, fsyncS: 3 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const num = Number(value);
    if (flag === '--duration_s' && num > 0) cfg.durationS = num;
    else if (flag === '--fsync_s' && num > 0) cfg.fsyncS = num;
    else if (flag === '--command_bytes' && Number.isInteger(num) && num > 0) cfg.commandBytes = num;
    else if (flag === '--concurrency') cfg.concurrency = value.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
    else throw new Error(`unknown or invalid flag ${argv[i]}: see the comment at the top of scripts/bench-raft.ts`);
  }
  if (cfg.concurrency.length === 0) throw new Error('--concurrency: want a list like 1,16,128');
  return cfg;
}

/** Three voters bootstrapped with the same static configuration. */
async function startCluster(dir: string): Promise<RaftNode[]> {
  const addrs = new Map<number, string>();
  for (const id of [1, 2, 3]) addrs.set(id, `127.0.0.1:${await freePort()}`);
  const nodes: RaftNode[] = [];
  try {
    for (const [id, raftAddr] of addrs) {
      nodes.push(await RaftNode.start({ id, raftAddr, dataDir: dir, stateMachine: new MemoryStateMachine(), bootstrap: addrs }));
    }
    return nodes;
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw e;
  }
}

async function waitLeader(nodes: readonly RaftNode[]): Promise<RaftNode> {
  const deadline = Date.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    const leader = nodes.find((n) => n.isLeader());
    if (leader) return leader;
    if (Date.now() > deadline) throw new Error(`no leader within ${LEADER_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface CaseResult {
  concurrency: number;
  applies: number;
  appliesPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
}

async function runCase(nodes: readonly RaftNode[], concurrency: number, cfg: Config): Promise<CaseResult> {
  const h = new Histogram();
  let errors = 0;
  const command = Buffer.alloc(cfg.commandBytes, 0x61);
  const start = performance.now();
  const endAt = start + cfg.durationS * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const leader = await waitLeader(nodes);
      const t = performance.now();
      try {
        await leader.apply(command, { signal: AbortSignal.timeout(10_000) });
        h.record(performance.now() - t);
      } catch {
        errors++; // leadership moved or overload: counted, and the next call finds the leader again
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - start) / 1000;
  return {
    concurrency, applies: h.total, appliesPerS: Math.round(h.total / elapsedS),
    p50Ms: h.quantileMs(0.5), p99Ms: h.quantileMs(0.99), maxMs: h.quantileMs(1), errors,
  };
}

/** 256-byte write + fsync in a loop: the most durable writes per second one file gets on this disk. */
function measureFsync(dir: string, seconds: number, bytes: number): { fsyncsPerS: number; p50Ms: number; p99Ms: number } {
  const h = new Histogram();
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const buf = Buffer.alloc(bytes, 0x62);
  try {
    const start = performance.now();
    const endAt = start + seconds * 1000;
    while (performance.now() < endAt) {
      const t = performance.now();
      writeSync(fd, buf);
      fsyncSync(fd);
      h.record(performance.now() - t);
    }
    return { fsyncsPerS: Math.round(h.total / ((performance.now() - start) / 1000)), p50Ms: h.quantileMs(0.5), p99Ms: h.quantileMs(0.99) };
  } finally {
    closeSync(fd);
  }
}

function printTable(cases: readonly CaseResult[], fsync: ReturnType<typeof measureFsync>, cfg: Config): void {
  const pad = (s: string | number, n: number): string => String(s).padStart(n);
  console.log(`raft bench: 3 RaftNodes on loopback TCP, ${cfg.commandBytes}-byte commands, ${cfg.durationS} s per case`);
  console.log(`${pad('concurrency', 11)} ${pad('applies/s', 10)} ${pad('p50 ms', 9)} ${pad('p99 ms', 9)} ${pad('max ms', 9)} ${pad('errors', 7)}`);
  for (const c of cases) {
    console.log(`${pad(c.concurrency, 11)} ${pad(c.appliesPerS, 10)} ${pad(c.p50Ms, 9)} ${pad(c.p99Ms, 9)} ${pad(c.maxMs, 9)} ${pad(c.errors, 7)}`);
  }
  console.log(`disk floor: ${fsync.fsyncsPerS} fsyncs/s (${cfg.commandBytes}-byte write + fsync), p50 ${fsync.p50Ms} ms, p99 ${fsync.p99Ms} ms`);
}

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'raftkv-bench-raft-'));
  let nodes: RaftNode[] = [];
  try {
    const fsync = measureFsync(dir, cfg.fsyncS, cfg.commandBytes);
    nodes = await startCluster(dir);
    await waitLeader(nodes);
    const cases: CaseResult[] = [];
    for (const c of cfg.concurrency) cases.push(await runCase(nodes, c, cfg));
    printTable(cases, fsync, cfg);
    console.log(JSON.stringify({ bench: 'raft', commandBytes: cfg.commandBytes, durationS: cfg.durationS, cases, fsync }));
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
