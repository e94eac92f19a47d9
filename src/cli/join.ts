import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ClusterClient, type MembersResponse } from '../gen/raftkv/v1/cluster.js';

/** Backoff between join attempts: doubles from the first to the cap. */
const JOIN_BACKOFF_FIRST_MS = 200;
const JOIN_BACKOFF_CAP_MS = 2_000;
const JOIN_CALL_TIMEOUT_MS = 5_000;

export interface JoinRequest {
  readonly via: string;
  readonly id: number;
  readonly raftAddress: string;
  readonly grpcAddress: string;
}

/** Asks the cluster (through any member) to add this node as a voter, retrying until it succeeds. */
export async function joinCluster(req: JoinRequest, log: Logger, signal: AbortSignal, creds: ChannelCredentials = credentials.createInsecure()): Promise<void> {
  const client = new ClusterClient(req.via, creds);
  try {
    for (let attempt = 1, backoffMs = JOIN_BACKOFF_FIRST_MS; !signal.aborted; attempt++) {
      try {
        const index = await addVoter(client, req);
        log.info({ via: req.via, index, attempt }, 'joined the cluster as a voter');
        return;
      } catch (e) {
        const err = e as ServiceError;
        log.info({ via: req.via, attempt, code: err.code, details: err.details ?? String(e) }, 'join attempt failed; retrying');
      }
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, JOIN_BACKOFF_CAP_MS);
    }
  } finally {
    client.close();
  }
}

/** The members' raft addresses, asked of `via` until it answers (a joining node needs them first). */
export async function fetchRaftPeers(via: string, log: Logger, signal: AbortSignal, creds: ChannelCredentials = credentials.createInsecure()): Promise<Map<number, string>> {
  const client = new ClusterClient(via, creds);
  try {
    for (let attempt = 1, backoffMs = JOIN_BACKOFF_FIRST_MS; !signal.aborted; attempt++) {
      try {
        const res = await new Promise<MembersResponse>((resolve, reject) => {
          client.members({ linearizable: false }, new Metadata(), { deadline: Date.now() + JOIN_CALL_TIMEOUT_MS }, (err, r) => (err ? reject(err) : resolve(r)));
        });
        return new Map(res.members.filter((m) => m.raftAddress !== '').map((m) => [m.id, m.raftAddress]));
      } catch (e) {
        const err = e as ServiceError;
        log.info({ via, attempt, code: err.code, details: err.details ?? String(e) }, 'could not list the members to join; retrying');
      }
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, JOIN_BACKOFF_CAP_MS);
    }
    throw new Error('stopped before the members could be listed');
  } finally {
    client.close();
  }
}

function addVoter(client: ClusterClient, req: JoinRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    client.addVoter(
      { id: req.id, raftAddress: req.raftAddress, grpcAddress: req.grpcAddress },
      new Metadata(),
      { deadline: Date.now() + JOIN_CALL_TIMEOUT_MS },
      (err, res) => (err ? reject(err) : resolve(res.index)),
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
