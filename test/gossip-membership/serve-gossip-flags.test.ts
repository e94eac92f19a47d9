import { describe, expect, it } from 'vitest';
import { readServeConfig } from '../../src/cli/serve.js';

const BASE = ['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', '--raft_data_dir=/tmp/x'];
const KEY = Buffer.alloc(32, 7).toString('base64');

describe('serve gossip flags', () => {
  it('parses gossip address, seeds, bootstrap_expect, key and profile', () => {
    const cfg = readServeConfig([...BASE, '--gossip_addr=127.0.0.1:7946', '--gossip_seeds=127.0.0.1:7946, 127.0.0.1:7947', '--bootstrap_expect=3', `--gossip_key=${KEY}`, '--gossip_profile=test']);
    expect(cfg.gossipAddr).toBe('127.0.0.1:7946');
    expect(cfg.gossipSeeds).toEqual(['127.0.0.1:7946', '127.0.0.1:7947']);
    expect(cfg.bootstrapExpect).toBe(3);
    expect(cfg.gossipKey?.length).toBe(32);
    expect(cfg.gossipProfile).toBe('test');
  });
  it('defaults: gossip off', () => {
    const cfg = readServeConfig(BASE);
    expect([cfg.gossipAddr, cfg.gossipSeeds, cfg.bootstrapExpect, cfg.gossipKey, cfg.autopilotVotersMax]).toEqual(['', [], 0, null, 5]);
  });
  it.each([
    [['--gossip_seeds=127.0.0.1:1'], /needs --gossip_addr/],
    [['--bootstrap_expect=3'], /needs --gossip_addr/],
    [['--gossip_addr=127.0.0.1:1', '--gossip_seeds=nope'], /invalid --gossip_seeds/],
    [['--gossip_addr=127.0.0.1:1', '--gossip_key=c2hvcnQ='], /invalid --gossip_key: want base64 of exactly 32 bytes/],
    [['--gossip_addr=127.0.0.1:1', '--bootstrap_expect=-1'], /invalid --bootstrap_expect/],
    [['--gossip_addr=127.0.0.1:1', '--bootstrap_expect=3', '--raft_bootstrap'], /exclude each other/],
    [['--gossip_addr=127.0.0.1:1', '--gossip_profile=wan'], /invalid --gossip_profile/],
  ])('rejects %j with one clear line', (extra, msg) => {
    expect(() => readServeConfig([...BASE, ...extra])).toThrow(msg);
  });
});
