/**
 * One bootstrapped in-process node with a metrics endpoint and a client, for the metrics tests:
 * `useSingleNode(prefix)` registers beforeAll/afterAll and returns getters for the live handles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { RaftkvClient } from '../../src/client/index.js';
import { startServer, type ServerHandle } from '../../src/node/server.js';

export interface SingleNode {
  readonly server: () => ServerHandle;
  readonly client: () => RaftkvClient;
}

export function useSingleNode(tmpPrefix: string): SingleNode {
  let dir = '';
  let server: ServerHandle | null = null;
  let client: RaftkvClient | null = null;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), tmpPrefix));
    server = await startServer({
      id: 1, raftAddr: '127.0.0.1:0', grpcAddr: '127.0.0.1:0', dataDir: dir, bootstrap: true, metricsAddr: '127.0.0.1:0',
      raft: { tickMs: 20, electionTicks: 10 }, drainGraceMs: 200,
    });
    client = new RaftkvClient({ endpoints: [server.grpcAddress], defaultTimeoutMs: 5000 });
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });
  return { server: () => server!, client: () => client! };
}
