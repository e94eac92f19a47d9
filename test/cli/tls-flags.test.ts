import { describe, expect, it } from 'vitest';
import { parseFlags, UsageError } from '../../src/cli/flags.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/serve-flags.js';

const base = ['--raft_id=1', '--raft_addr=127.0.0.1:0', '--grpc_addr=127.0.0.1:0', '--raft_data_dir=/tmp/x'];
const cfg = (...extra: string[]) => serveConfig(parseFlags(SERVE_FLAGS, [...base, ...extra]));

describe('TLS flags', () => {
  it('are off by default', () => {
    expect(cfg().tls).toBeNull();
  });

  it('map etcd-style flags onto each port', () => {
    const t = cfg('--cert_file=s.crt', '--key_file=s.key', '--trusted_ca_file=c.crt', '--client_cert_auth',
      '--peer_cert_file=p.crt', '--peer_key_file=p.key', '--peer_trusted_ca_file=pc.crt', '--peer_client_cert_auth',
      '--metrics_addr=127.0.0.1:0', '--metrics_cert_file=m.crt', '--metrics_key_file=m.key').tls;
    expect(t).toEqual({
      client: { certFile: 's.crt', keyFile: 's.key', trustedCaFile: 'c.crt', clientCertAuth: true },
      peer: { certFile: 'p.crt', keyFile: 'p.key', trustedCaFile: 'pc.crt', clientCertAuth: true },
      metrics: { certFile: 'm.crt', keyFile: 'm.key' },
    });
  });

  it.each([
    [['--cert_file=s.crt'], /--cert_file and --key_file go together/],
    [['--client_cert_auth'], /need --cert_file/],
    [['--cert_file=s.crt', '--key_file=s.key', '--client_cert_auth'], /--client_cert_auth needs --trusted_ca_file/],
    [['--peer_cert_file=p.crt', '--peer_key_file=p.key'], /needs --peer_trusted_ca_file/],
    [['--peer_client_cert_auth'], /need --peer_cert_file/],
    [['--metrics_cert_file=m.crt', '--metrics_key_file=m.key'], /needs --metrics_addr/],
  ])('refuse an incomplete set %j', (flags, message) => {
    expect(() => cfg(...flags)).toThrow(UsageError);
    expect(() => cfg(...flags)).toThrow(message);
  });
});
