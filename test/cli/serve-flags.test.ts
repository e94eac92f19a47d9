import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/flags.js';
import { readServeConfig, SERVE_USAGE } from '../../src/cli/serve.js';

const ROOT = join(import.meta.dirname, '../..');
const base = ['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', '--raft_data_dir=/tmp/x'];

describe('raftkv serve flags', () => {
  it('parses every flag form and applies defaults', () => {
    const cfg = readServeConfig([...base, '--raft_bootstrap', '--peers', '2=127.0.0.1:2,3=127.0.0.1:3', '--tick_ms=20']);
    expect(cfg).toMatchObject({ id: 1, bootstrap: true, tickMs: 20, electionTicks: 10, logLevel: 'info', join: '' });
    expect([...cfg.peers]).toEqual([[2, '127.0.0.1:2'], [3, '127.0.0.1:3']]);
  });

  it.each([
    [['--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', '--raft_data_dir=/tmp/x'], /missing required flag --raft_id/],
    [[...base, '--bogus=1'], /unknown flag --bogus/],
    [[...base.slice(1), '--raft_id=abc'], /--raft_id: "abc" is not an integer/],
    [[...base.slice(1), '--raft_id=0'], /--raft_id: must be a positive integer/],
    [[...base, '--peers=2=nohost'], /bad address "nohost"/],
    [[...base, '--log_level=loud'], /--log_level: want one of/],
    [[...base, '--raft_bootstrap', '--join=127.0.0.1:5'], /exclude each other/],
    [[...base, '--join'], /--join needs a value/],
  ])('rejects %j', (argv, message) => {
    expect(() => readServeConfig(argv)).toThrow(UsageError);
    expect(() => readServeConfig(argv)).toThrow(message);
  });

  it('documents every flag in --help', () => {
    for (const f of ['raft_id', 'raft_addr', 'grpc_addr', 'raft_data_dir', 'raft_bootstrap', 'peers', 'join', 'log_level', 'tick_ms']) {
      expect(SERVE_USAGE).toContain(`--${f}`);
    }
  });

  it('exits with code 2 and one clear line on a bad flag', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...base, '--nope'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['raftkv serve: unknown flag --nope (see --help)']);
  });
});
