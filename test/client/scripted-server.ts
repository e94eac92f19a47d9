import { Metadata, Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData, type ServerWritableStream } from '@grpc/grpc-js';
import { KVService, PutResponse, GetResponse, type WatchResponse, type PutRequest, type GetRequest, type WatchRequest } from '../../src/gen/raftkv/v1/kv.js';

/**
 * A real gRPC server on 127.0.0.1:0 whose KV handlers follow a script: tests use it to check client
 * retry rules against real sockets without a raft cluster. Every request is recorded.
 */
export interface ScriptedFailure {
  readonly code: status;
  readonly raftkvCode?: string;
}

export interface ScriptedServer {
  readonly address: string;
  readonly puts: PutRequest[];
  readonly gets: GetRequest[];
  readonly watches: WatchRequest[];
  /** Failures answered to the next calls, in order; then calls succeed. */
  failures: ScriptedFailure[];
  /** Events served to each watch call: list of batches, then the stream either ends or errors. */
  watchScript: (req: WatchRequest, call: ServerWritableStream<WatchRequest, WatchResponse>) => void;
  stop(): Promise<void>;
}

function failWith(f: ScriptedFailure): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (f.raftkvCode !== undefined) metadata.set('raftkv-error-code', f.raftkvCode);
  return { code: f.code, details: `scripted ${f.raftkvCode ?? status[f.code]}`, metadata };
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const server = new Server();
  const s: ScriptedServer = {
    address: '',
    puts: [],
    gets: [],
    watches: [],
    failures: [],
    watchScript: (_req, call) => call.end(),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  const unimplemented = (_call: unknown, cb: sendUnaryData<never>): void => cb({ code: status.UNIMPLEMENTED });
  server.addService(KVService, {
    put: (call: ServerUnaryCall<PutRequest, PutResponse>, cb: sendUnaryData<PutResponse>) => {
      s.puts.push(call.request);
      const f = s.failures.shift();
      if (f !== undefined) cb(failWith(f));
      else cb(null, PutResponse.fromPartial({ header: { revision: s.puts.length } }));
    },
    get: (call: ServerUnaryCall<GetRequest, GetResponse>, cb: sendUnaryData<GetResponse>) => {
      s.gets.push(call.request);
      const f = s.failures.shift();
      if (f !== undefined) cb(failWith(f));
      else cb(null, GetResponse.fromPartial({ header: { revision: 7 }, kv: { key: call.request.key, value: Buffer.from('v'), version: 1, createRevision: 7, modRevision: 7 } }));
    },
    delete: unimplemented,
    range: unimplemented,
    txn: unimplemented,
    watch: (call: ServerWritableStream<WatchRequest, WatchResponse>) => {
      s.watches.push(call.request);
      s.watchScript(call.request, call);
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
