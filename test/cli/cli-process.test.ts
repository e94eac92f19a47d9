/**
 * The `raftkv` CLI and `raftkv serve` as a user runs them: real child processes on loopback sockets,
 * LevelDB in a temp dir. One single-node cluster serves the whole file.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RaftkvClient } from '../../src/client/index.js';
import { ROOT, runCli, startServe, type ServeProcess } from './processes.js';

let dir = '';
let node: ServeProcess | null = null;
let waiting: ServeProcess | null = null;
let endpoint = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkv-cli-proc-'));
  node = await startServe(['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', `--raft_data_dir=${dir}`, '--raft_bootstrap', '--log_level=info']);
  endpoint = node.ready.grpcAddr;
});

afterAll(async () => {
  await node?.stop();
  await waiting?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** A value near the 1 MiB limit: far more than a pipe (64 KiB) plus the reader's buffer hold. */
const BIG_BYTES = 1_000_000;

describe('raftkv CLI processes', () => {
  it('a value from stdin larger than argv allows; piped output arrives whole to a slow reader', async () => {
    const value = Buffer.alloc(BIG_BYTES, 'a');
    const put = await runCli(['put', 'big', '-', '--endpoints', endpoint], { stdin: value });
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);

    const get = await runCli(['get', 'big', '--endpoints', endpoint], { slowReaderMs: 2500 });
    expect(get.code).toBe(0);
    expect(get.stdout.length).toBe(BIG_BYTES + 1); // the value and its newline

    const range = await runCli(['range', 'big', '--json', '--endpoints', endpoint], { slowReaderMs: 2500 });
    expect(range.code).toBe(0);
    const line = range.stdout.toString().trimEnd();
    expect((JSON.parse(line) as { value: string }).value).toHaveLength(BIG_BYTES);
  });

  it('status reports the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['status', '--json', '--endpoints', endpoint]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout.toString()) as { version: string }).version).toBe(version);
  });

  it('a 2 MB value fails at once with INVALID_ARGUMENT naming the limit, and so does an oversized request', async () => {
    const client = new RaftkvClient({ endpoints: [endpoint], retry: { attemptsMax: 8 } });
    try {
      const t0 = Date.now();
      const e = await client.put('x', Buffer.alloc(2_000_000)).catch((err: unknown) => err);
      expect(e).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((e as Error).message).toMatch(/1048576 bytes \(valueBytesMax\)/);
      // The server's gRPC layer refuses a message over its limit (here a 2 MB key in a read): that is
      // deterministic too, so no retries and no OVERLOADED.
      const r = await client.get(Buffer.alloc(2_000_000, 'k')).catch((err: unknown) => err);
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((r as Error).message).toMatch(/too large.*request 1572864 bytes/);
      expect(Date.now() - t0).toBeLessThan(1000); // 8 attempts with backoff took over a second
    } finally {
      client.close();
    }
  });

  it('log lines name the node once', () => {
    const lines = node!.stderr().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l.match(/"nodeId":/g), l).toHaveLength(1);
  });

  it('many overlapping calls do not make the server warn about listeners', async () => {
    const client = new RaftkvClient({ endpoints: [endpoint] });
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => client.put(`c/${i}`, 'v')));
    } finally {
      client.close();
    }
    expect(node!.stderr()).not.toContain('MaxListenersExceededWarning');
  });

  it('a node with neither --raft_bootstrap, --join nor gossip says what it waits for', async () => {
    waiting = await startServe(['--raft_id=2', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', `--raft_data_dir=${dir}`, '--log_level=warn']);
    expect(waiting.ready.waitingFor).toMatch(/raftkv add-voter 2 127\.0\.0\.1:\d+ --grpc_addr 127\.0\.0\.1:\d+/);
    expect(waiting.ready.waitingFor).toMatch(/--raft_bootstrap.*--join.*--gossip_addr/);
    // The bootstrapped node, which is a member, does not.
    expect(node!.ready.waitingFor).toBeUndefined();
  });
});
