import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ServerHandle } from '../../src/node/server.js';
import { RaftkvClient } from '../../src/client/index.js';
import { deadAddress } from './scripted-server.js';

/** An in-process 3-node cluster for client tests (real sockets on loopback, LevelDB in a temp dir). */

const RAFT = { tickMs: 20, electionTicks: 10, heartbeatTicks: 1 };

export interface TestCluster {
  readonly servers: Map<number, ServerHandle>;
  readonly client: RaftkvClient;
  stop(): Promise<void>;
}

export async function waitFor(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last: unknown = null;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export async function startCluster(name: string): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), `raftkv-${name}-`));
  const servers = new Map<number, ServerHandle>();
  const grpcAddrs = new Map<number, string>();
  for (const id of [1, 2, 3]) grpcAddrs.set(id, await deadAddress());
  // Ports are picked up front (not 0): the bootstrap configuration records raftAddr as given.
  const start = async (id: number): Promise<ServerHandle> => {
    // A joining node needs the raft addresses of the members already there, to answer them.
    const knownRaftPeers = new Map([...servers.values()].map((s) => [s.id, s.raftAddress] as [number, string]));
    const s = await startServer({
      id, raftAddr: await deadAddress(), grpcAddr: grpcAddrs.get(id) as string, dataDir: dir, bootstrap: id === 1,
      peers: grpcAddrs, knownRaftPeers, raft: RAFT, drainGraceMs: 200, ...(process.env['E2E_LOG'] ? { logger: (await import('pino')).pino({ level: 'info' }).child({ nodeId: id }) } : {}),
    });
    servers.set(id, s);
    return s;
  };
  await start(1);
  const client = new RaftkvClient({ endpoints: [...grpcAddrs.values()], defaultTimeoutMs: 5000 });
  const stop = async (): Promise<void> => {
    client.close();
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('a leader', 10_000, async () => (await client.status()).header.leaderId !== 0);
    for (const id of [2, 3]) {
      const s = await start(id);
      await client.addVoter(id, s.raftAddress, { grpcAddress: s.grpcAddress });
    }
    await waitFor('3 voters', 10_000, async () => (await client.members({ linearizable: true })).members.filter((m) => m.suffrage === 'voter').length === 3);
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers, client, stop };
}
