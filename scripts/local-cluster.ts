/**
 * `npm start`: a three-node raftkv cluster on loopback, as child processes of `raftkv serve`.
 * The nodes find each other through gossip alone: all three get the same --gossip_seeds and
 * --bootstrap_expect=3 (no node is special). Ctrl-C stops all three gracefully.
 *
 *   npm start [-- --data_dir=<dir>] [-- --base_port=<port>]
 *
 * Data goes to ./.data/local-cluster unless --data_dir is given; ports are free ones picked at start
 * unless --base_port is given (then raft = base+id, gRPC = base+100+id, gossip = base+200+id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { freePort } from '../test/support/free-port.js';
import { ClusterClient, type MembersResponse } from '../src/gen/raftkv/v1/cluster.js';

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
  /** Each node's cluster page (the same listener as its metrics: --http_addr equals --metrics_addr). */
  const httpAddrs = new Map<number, string>();
  const spawnNode = (id: number, extra: string[]): void => {
    const a = addrs.get(id)!;
    const args = [
      '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve', `--raft_id=${id}`, `--raft_addr=${a.raft}`, `--grpc_addr=${a.grpc}`,
      `--raft_data_dir=${dataDir}`, `--gossip_addr=${a.gossip}`, `--gossip_seeds=${seeds}`, '--metrics_addr=127.0.0.1:0', '--http_addr=127.0.0.1:0', '--log_level=warn', ...extra,
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
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
      if (!stopping) console.error(`node ${id} exited (code ${code}, signal ${sig})`);
    });
    children.set(id, child);
  };

  let stopping = false;
  let signals = 0;
  const stopAll = (sig: NodeJS.Signals): void => {
    signals++;
    stopping = true;
    console.error(signals > 1 ? 'forcing exit' : 'stopping the cluster (Ctrl-C again to force)');
    for (const child of children.values()) child.kill(signals > 1 ? 'SIGKILL' : sig);
    if (signals > 1) process.exit(130);
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);

  // On a restart with existing data, bootstrap_expect is ignored and the nodes simply resume.
  for (let id = 1; id <= SIZE; id++) spawnNode(id, [`--bootstrap_expect=${SIZE}`]);

  const client = new ClusterClient(addrs.get(1)!.grpc, credentials.createInsecure());
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
    stopAll('SIGTERM');
    process.exitCode = 1;
    return;
  }
  const endpoints = [...addrs.values()].map((a) => a.grpc).join(',');
  console.log(`raftkv local cluster is up: ${SIZE} voters, leader is node ${members.header!.leaderId}; data in ${dataDir}`);
  for (const m of members.members) {
    const metrics = metricsAddrs.get(m.id);
    console.log(`  node ${m.id}: gRPC ${m.grpcAddress || addrs.get(m.id)?.grpc}  raft ${m.raftAddress}${metrics ? `  metrics http://${metrics}/metrics` : ''}`);
  }
  const page = httpAddrs.get(members.header!.leaderId) ?? [...httpAddrs.values()][0];
  if (page) console.log(`\nCluster page (any node serves it): http://${page}/`);
  console.log('\nTry:');
  console.log(`  npm run raftkv -- put --endpoints ${endpoints} greeting hello`);
  console.log(`  npm run raftkv -- get --endpoints ${endpoints} greeting`);
  console.log(`  export RAFTKV_ENDPOINTS=${endpoints}`);
  console.log('\nAdd a node with only the seeds: the leader adds it as a non-voter (with a fifth, both become voters):');
  console.log(`  npm run raftkv -- serve --raft_id=4 --raft_addr=127.0.0.1:0 --grpc_addr=127.0.0.1:0 --raft_data_dir=${dataDir} --gossip_addr=127.0.0.1:0 --gossip_seeds=${seeds}`);
  console.log(`  npm run raftkv -- members --endpoints ${endpoints}`);
  console.log('\nCtrl-C stops all three nodes.');
}

void main();
