import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/flags.js';
import { readServeConfig, SERVE_USAGE } from '../../src/cli/serve.js';

const base = ['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', '--raft_data_dir=/tmp/x'];

describe('--metrics_addr', () => {
  it('is off by default', () => {
    expect(readServeConfig(base).metricsAddr).toBe('');
  });

  it.each(['127.0.0.1:9464', '127.0.0.1:0', '[::1]:9464'])('accepts %s', (addr) => {
    expect(readServeConfig([...base, `--metrics_addr=${addr}`]).metricsAddr).toBe(addr);
  });

  it.each(['9464', 'localhost', '127.0.0.1:99999'])('rejects %s with one line', (addr) => {
    expect(() => readServeConfig([...base, `--metrics_addr=${addr}`])).toThrow(UsageError);
    expect(() => readServeConfig([...base, `--metrics_addr=${addr}`])).toThrow(/^invalid --metrics_addr: /);
  });

  it('is documented in --help', () => {
    expect(SERVE_USAGE).toContain('--metrics_addr');
  });
});
