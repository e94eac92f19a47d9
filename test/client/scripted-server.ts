import { Metadata, Server, ServerCredentials, status, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import {
  KVService, LeaseService, WatchService, PutResponse, type LeaseKeepAliveRequest, type LeaseKeepAliveResponse, RangeResponse, type PutRequest, type RangeRequest, type WatchCreateRequest, type WatchRequest, type WatchResponse,
} from '../../src/gen/etcd/etcdserverpb/rpc.js';
import { REQUEST_ID_METADATA_KEY } from '../../src/common/request-id.js';

/**
 * A real gRPC server on 127.0.0.1:0 serving etcd's KV and Watch by a script: tests use it to check
 * client retry rules against real sockets without a raft cluster. Every request is recorded, with the
 * request id its metadata carried.
 */
export interface ScriptedFailure {
  readonly code: status;
  readonly raftkvCode?: string;
  readonly details?: string;
}

export interface ScriptedServer {
  readonly address: string;
  readonly puts: PutRequest[];
  /** The `raftkv-request-id` of each put, '' when absent. */
  readonly putIds: string[];
  readonly gets: RangeRequest[];
  readonly watches: WatchCreateRequest[];
  /** Failures answered to the next calls, in order; then calls succeed. */
  failures: ScriptedFailure[];
  /** Keep-alive streams opened so far. */
  keepAliveStreams: number;
  /** What each keep-alive stream does with its requests (by default: answers TTL 30). */
  keepAliveScript: (call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>, stream: number) => void;
  /** What each watch stream is sent after its create request arrives. */
  watchScript: (req: WatchCreateRequest, call: ServerDuplexStream<WatchRequest, WatchResponse>) => void;
  stop(): Promise<void>;
}

function failWith(f: ScriptedFailure): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (f.raftkvCode !== undefined) metadata.set('raftkv-error-code', f.raftkvCode);
  return { code: f.code, details: f.details ?? `scripted ${f.raftkvCode ?? status[f.code]}`, metadata };
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const server = new Server();
  const s: ScriptedServer = {
    address: '',
    puts: [],
    putIds: [],
    gets: [],
    watches: [],
    failures: [],
    keepAliveStreams: 0,
    keepAliveScript: (call) => call.on('data', (r: LeaseKeepAliveRequest) => call.write({ ID: r.ID, TTL: 30 })),
    watchScript: (_req, call) => call.end(),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  const unimplemented = (_call: unknown, cb: sendUnaryData<never>): void => cb({ code: status.UNIMPLEMENTED, details: 'The server does not implement the method' });
  server.addService(KVService, {
    put: (call: ServerUnaryCall<PutRequest, PutResponse>, cb: sendUnaryData<PutResponse>) => {
      s.puts.push(call.request);
      s.putIds.push(String(call.metadata.get(REQUEST_ID_METADATA_KEY)[0] ?? ''));
      const f = s.failures.shift();
      if (f !== undefined) cb(failWith(f));
      else cb(null, PutResponse.fromPartial({ header: { revision: s.puts.length } }));
    },
    range: (call: ServerUnaryCall<RangeRequest, RangeResponse>, cb: sendUnaryData<RangeResponse>) => {
      s.gets.push(call.request);
      const f = s.failures.shift();
      if (f !== undefined) cb(failWith(f));
      else cb(null, RangeResponse.fromPartial({ header: { revision: 7 }, count: 1, kvs: [{ key: call.request.key, value: Buffer.from('v'), version: 1, createRevision: 7, modRevision: 7 }] }));
    },
    deleteRange: unimplemented,
    txn: unimplemented,
    compact: unimplemented,
  });
  server.addService(LeaseService, {
    leaseGrant: unimplemented,
    leaseRevoke: unimplemented,
    leaseTimeToLive: unimplemented,
    leaseLeases: unimplemented,
    leaseKeepAlive: (call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>) => {
      s.keepAliveStreams++;
      s.keepAliveScript(call, s.keepAliveStreams);
    },
  });
  server.addService(WatchService, {
    watch: (call: ServerDuplexStream<WatchRequest, WatchResponse>) => {
      call.once('data', (req: WatchRequest) => {
        if (req.requestUnion?.$case !== 'createRequest') return;
        s.watches.push(req.requestUnion.createRequest);
        s.watchScript(req.requestUnion.createRequest, call);
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return Object.assign(s, { address: `127.0.0.1:${port}` });
}

/** A loopback address where nothing listens (a port bound and released). */
export async function deadAddress(): Promise<string> {
  const net = await import('node:net');
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
