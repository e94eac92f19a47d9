/**
 * `npm start`: a three-node raftkv cluster on loopback, as child processes of `raftkv serve`.
 * The nodes find each other through gossip alone: all three get the same --gossip_seeds and
 * --bootstrap_expect=3 (no node is special). Ctrl-C, or SIGINT/SIGTERM/SIGHUP to this process alone
 * (`npm start &` then `kill $!`), stops all three gracefully: the nodes run in their own process
 * group, so a Ctrl-C reaches them once, through us, and not a second time from the terminal.
 *
 *   npm start [-- --data_dir=<dir>] [-- --base_port=<port>] [-- --tls]
 *
 * --tls makes a throw-away CA and certificates under <data_dir>/tls (see scripts/dev-certs.ts) and
 * starts the nodes with client TLS, peer mTLS and HTTPS metrics; it prints the flags a client needs.
 *
 * Data goes to ./.data/local-cluster unless --data_dir is given; ports are free ones picked at start
 * unless --base_port is given (then raft = base+id, gRPC = base+100+id, gossip = base+200+id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { devTlsFlags, devClientCredentials, devClientFlags, ensureDevPki } from './local-cluster-tls.js';
import { freePort } from '../test/support/free-port.js';
import { ClusterClient, type MembersResponse } from '../src/gen/raftkv/v1/cluster.js';
import { onStopSignals } from '../src/cli/signals.js';

const ROOT = resolve(import.meta.dirname, '..');
const SIZE = 3;
const READY_TIMEOUT_MS = 30_000;

function flag(name: string): string | undefined {
  const hit = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

type Addrs = Map<number, { raft: string; grpc: string; gossip: string }>;

/**
 * The nodes' addresses are part of their durable state (the raft log and address books name them),
 * so a data directory keeps the ports it was first started with, in ports.json.
 */
async function chooseAddresses(dataDir: string, basePort: number | null): Promise<Addrs> {
  const file = join(dataDir, 'ports.json');
  if (basePort === null) {
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as [number, { raft: string; grpc: string; gossip: string }][];
      return new Map(saved);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const addrs: Addrs = new Map();
  for (let id = 1; id <= SIZE; id++) {
    const raft = basePort === null ? await freePort() : basePort + id;
    const grpc = basePort === null ? await freePort() : basePort + 100 + id;
    const gossip = basePort === null ? await freePort() : basePort + 200 + id;
    addrs.set(id, { raft: `127.0.0.1:${raft}`, grpc: `127.0.0.1:${grpc}`, gossip: `127.0.0.1:${gossip}` });
  }
  await writeFile(file, `${JSON.stringify([...addrs])}\n`);
  return addrs;
}

async function main(): Promise<void> {
  const dataDir = resolve(flag('data_dir') ?? join(ROOT, '.data', 'local-cluster'));
  const basePort = flag('base_port') === undefined ? null : Number(flag('base_port'));
  await mkdir(dataDir, { recursive: true });
  const addrs = await chooseAddresses(dataDir, basePort);
  const seeds = [...addrs.values()].map((a) => a.gossip).join(',');
  const children = new Map<number, ChildProcess>();
  /** Each node's Prometheus endpoint, from its `ready` line (port 0: the OS picks). */
  const metricsAddrs = new Map<number, string>();
  const pki = process.argv.includes('--tls') ? await ensureDevPki(dataDir, SIZE) : null;
  /** Each node's cluster page (the same listener as its metrics: --http_addr equals --metrics_addr). */
  const httpAddrs = new Map<number, string>();
  const spawnNode = (id: number, extra: string[]): void => {
    const a = addrs.get(id)!;
    const args = [
      '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', `--raft_id=${id}`, `--raft_addr=${a.raft}`, `--grpc_addr=${a.grpc}`,
      `--raft_data_dir=${dataDir}`, `--gossip_addr=${a.gossip}`, `--gossip_seeds=${seeds}`, '--metrics_addr=127.0.0.1:0', '--http_addr=127.0.0.1:0', '--log_level=warn', ...(pki ? devTlsFlags(pki, id) : []), ...extra,
    ];
    // detached: a process group of its own, so the terminal's Ctrl-C does not signal it directly.
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-4096);
      const m = /"metricsAddr":"([^"]+)"/.exec(out);
      if (m) metricsAddrs.set(id, m[1]!);
      const h = /"httpAddr":"([^"]+)"/.exec(out);
      if (h) httpAddrs.set(id, h[1]!);
    });
    child.on('exit', (code, sig) => {
      children.delete(id);
      exits.set(id, sig ?? code ?? 'unknown');
      if (!stopping) console.error(`node ${id} exited (code ${code}, signal ${sig})`);
      else if (children.size === 0) finishStop();
    });
    children.set(id, child);
  };

  let stopping = false;
  /** How each node ended: its exit code, or the signal that killed it. */
  const exits = new Map<number, number | string>();
  const finishStop = (): void => {
    const summary = [...exits].sort(([a], [b]) => a - b).map(([id, how]) => `node ${id} ${how === 0 ? 'stopped' : `exited with ${how}`}`);
    const graceful = [...exits.values()].every((how) => how === 0);
    console.error(`${graceful ? 'all nodes stopped gracefully' : 'not every node stopped gracefully'}: ${summary.join(', ')}`);
    process.exit(graceful && !failed ? 0 : 1);
  };
  /** Set when the cluster did not form: the exit status says so even if the nodes stop cleanly. */
  let failed = false;
  const stopAll = (): void => {
    stopping = true;
    console.error('stopping the cluster (Ctrl-C again to force)');
    if (children.size === 0) finishStop();
    // SIGTERM whatever the signal: the nodes' graceful path (hand off leadership, leave gossip, drain).
    for (const child of children.values()) child.kill('SIGTERM');
  };
  onStopSignals({
    graceful: () => stopAll(),
    forced: () => {
      console.error('forcing exit');
      for (const child of children.values()) child.kill('SIGKILL');
      process.exit(130);
    },
  });

  // On a restart with existing data, bootstrap_expect is ignored and the nodes simply resume.
  for (let id = 1; id <= SIZE; id++) spawnNode(id, [`--bootstrap_expect=${SIZE}`]);

  const client = new ClusterClient(addrs.get(1)!.grpc, pki ? devClientCredentials(pki) : credentials.createInsecure());
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let members: MembersResponse | null = null;
  while (!stopping && Date.now() < deadline) {
    members = await new Promise<MembersResponse | null>((res) => {
      client.members({ linearizable: false }, new Metadata(), { deadline: Date.now() + 1000 }, (err, r) => res(err ? null : r));
    });
    if (members && members.header!.leaderId !== 0 && members.members.filter((m) => m.suffrage === 1).length === SIZE) break;
    members = null;
    await new Promise((r) => setTimeout(r, 200));
  }
  client.close();
  if (stopping) return;
  if (!members) {
    console.error(`the cluster did not form within ${READY_TIMEOUT_MS} ms`);
    failed = true;
    stopAll();
    return;
  }
  const endpoints = [...addrs.values()].map((a) => a.grpc).join(',');
  const tlsArgs = pki ? ` ${devClientFlags(pki)}` : '';
  console.log(`raftkv local cluster is up: ${SIZE} voters, leader is node ${members.header!.leaderId}; data in ${dataDir}`);
  for (const m of members.members) {
    const metrics = metricsAddrs.get(m.id);
    const pid = children.get(m.id)?.pid;
    console.log(`  node ${m.id}: gRPC ${m.grpcAddress || addrs.get(m.id)?.grpc}  raft ${m.raftAddress}${metrics ? `  metrics ${pki ? 'https' : 'http'}://${metrics}/metrics` : ''}${pid ? `  pid ${pid}` : ''}`);
  }
  const page = httpAddrs.get(members.header!.leaderId) ?? [...httpAddrs.values()][0];
  if (page) console.log(`\nCluster page (any node serves it): ${pki ? 'https' : 'http'}://${page}/`);
  // The built CLI (npx raftkv, after npm run build): no npm banner on stdout, and no tsx start-up cost.
  console.log('\nTry (npm run build first):');
  console.log(`  export RAFTKV_ENDPOINTS=${endpoints}`);
  console.log(`  npx raftkv put${tlsArgs} greeting hello`);
  console.log(`  npx raftkv get${tlsArgs} greeting`);
  console.log(`  npx raftkv members${tlsArgs}`);
  if (pki) console.log(`  (TLS: every client needs ${devClientFlags(pki)}; metrics: curl --cacert ${pki.ca.cert} https://<metrics>/metrics)`);
  console.log('\nAdd a node with only the seeds: the leader adds it as a non-voter (with a fifth, both become voters):');
  console.log(`  npx raftkv serve --raft_id=4 --raft_addr=127.0.0.1:0 --grpc_addr=127.0.0.1:0 --raft_data_dir=${dataDir} --gossip_addr=127.0.0.1:0 --gossip_seeds=${seeds}${pki ? ' plus TLS flags as in README "Security"' : ''}`);
  console.log('\nCtrl-C stops all three nodes.');
}

void main();
