import { formatHostPort, parseHostPort } from '../common/host-port.js';
import { Server, ServerCredentials, status, type ChannelCredentials, type ServerWritableStream, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { Limits } from '../common/limits.js';
import { ClusterService } from '../gen/raftkv/v1/cluster.js';
import { KVService } from '../gen/raftkv/v1/kv.js';
import { createClusterServer } from './cluster-service.js';
import { SERVICE_DEFAULTS, type ObserveCall, type ServiceDeps } from './deps.js';
import { Forwarder } from './forward.js';
import { ForwardStreamService, ForwardTargets, serveForwardStream } from './forward-serve.js';
import { HealthReporter } from './health.js';
import { createKvCore } from './kv-core.js';
import { createKvServer } from './kv-service.js';
import { addEtcdServices } from './etcd/index.js';
import { tolerantDefinition } from './malformed.js';
import { addReflection } from './reflection.js';
import { LeaderRouter } from './router.js';
import { AuthGate, rootOnlyWhenAuthOn } from './auth-gate.js';
import { mapHandlers } from './handler-map.js';

/** Largest response we send (a full range page plus headers). */
const SEND_MESSAGE_BYTES_MAX = 8 * 1024 * 1024;
/** Concurrent streams per HTTP/2 connection. */
const CONCURRENT_STREAMS_MAX = 1000;

export interface RaftkvGrpcServer {
  /** host:port actually bound (port 0 resolved). */
  readonly address: string;
  /** Stop accepting, end watches, let in-flight calls finish within `graceMs`, then force. */
  shutdown(graceMs: number): Promise<void>;
}

/** TLS for the server (see src/transport/tls/grpc.ts) and for its calls to other members. */
export interface GrpcTlsSetup {
  readonly serverCredentials?: ServerCredentials;
  readonly forwardCredentials?: ChannelCredentials;
}

export async function startGrpcServer(deps: ServiceDeps, listenAddr: string, extra: { learnAddress?: (id: number, grpcAddr: string) => void } = {}, tls: GrpcTlsSetup = {}): Promise<RaftkvGrpcServer> {
  const opts = { ...SERVICE_DEFAULTS, ...deps.options };
  const shutdownCtl = new AbortController();
  const forwarder = new Forwarder(deps.node.id, deps.resolver, tls.forwardCredentials);
  const router = new LeaderRouter(deps.node, deps.resolver, forwarder, opts.leaderWaitMs);
  const auth = new AuthGate(deps.auth, deps.node);
  const ctx = { deps, router, forwarder, requestTimeoutMs: opts.requestTimeoutMs, shutdown: shutdownCtl.signal, startedAtMs: Date.now(), auth, ...extra };

  const server = new Server({
    'grpc.max_receive_message_length': Limits.requestBytesMax,
    'grpc.max_send_message_length': SEND_MESSAGE_BYTES_MAX,
    'grpc.max_concurrent_streams': CONCURRENT_STREAMS_MAX,
  });
  // raftkv's own API knows no tokens: with auth on it serves root only (a client certificate's CN).
  // Every unary method is also reachable through the forwarding stream (forward-serve.ts).
  const forwardTargets = new ForwardTargets();
  const addService = server.addService.bind(server);
  server.addService = (def, impl) => {
    forwardTargets.record(def, impl);
    addService(def, impl);
  };
  server.addService(tolerantDefinition(KVService), observed(KVService, rootOnlyWhenAuthOn(KVService, createKvServer(ctx), auth), deps.observe));
  server.addService(tolerantDefinition(ClusterService), observed(ClusterService, rootOnlyWhenAuthOn(ClusterService, createClusterServer(ctx), auth, undefined, { members: true }), deps.observe));
  addEtcdServices(server, ctx, createKvCore(ctx), opts.clusterName, (def, impl) => observed(def, impl, deps.observe));
  server.addService(ForwardStreamService, { calls: serveForwardStream(forwardTargets, shutdownCtl.signal, deps.logger) });
  const health = new HealthReporter(deps.node);
  health.addToServer(server);
  if (!addReflection(server)) deps.logger.warn('server reflection disabled: descriptor set raftkv.binpb not found');

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listenAddr, tls.serverCredentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const address = formatHostPort(parseHostPort(listenAddr, { portZero: true }).host, port);
  deps.logger.info({ grpcAddr: address }, 'gRPC server listening');

  return {
    address,
    shutdown: async (graceMs) => {
      health.stop();
      shutdownCtl.abort();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          deps.logger.warn({ graceMs }, 'gRPC drain grace period over; closing remaining calls');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      forwarder.close();
    },
  };
}

/** gRPC status names by code (`status[3]` is 'INVALID_ARGUMENT'), built once so a call only indexes. */
const CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, c) => status[c] ?? 'UNKNOWN');

function codeName(code: unknown): string {
  return (typeof code === 'number' ? CODE_NAMES[code] : undefined) ?? 'UNKNOWN';
}

interface MethodDefinition {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/**
 * The one per-call wrapper: every handler of `impl` reports its method, status and duration to
 * `observe` when the call finishes. Without `observe` the handlers are returned untouched, so a node
 * without --metrics_addr pays nothing. The method label is fixed per handler here, so its values are
 * bounded by the service definitions.
 */
function observed<I extends object>(def: Readonly<Record<string, MethodDefinition>>, impl: I, observe: ObserveCall | undefined): I {
  if (observe === undefined) return impl;
  return mapHandlers(def, impl, (handler, _name, m) => {
    const method = m.path.slice(m.path.lastIndexOf('/') + 1);
    if (!m.requestStream && !m.responseStream) return observeUnary(method, handler as UnaryHandler, observe);
    if (!m.requestStream) return observeServerStream(method, handler as StreamHandler, observe);
    return handler; // No client- or bidi-streaming methods exist; one added later stays unobserved until handled here.
  });
}

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
type StreamHandler = (call: ServerWritableStream<unknown, unknown>) => unknown;

function observeUnary(method: string, handler: UnaryHandler, observe: ObserveCall): UnaryHandler {
  return (call, callback) => {
    const t0 = performance.now();
    handler(call, (err, res, trailer, flags) => {
      // Observed before the status is sent, so a caller that has its answer also sees it counted;
      // `finally` so a throwing observer can never leave a call unanswered.
      try {
        observe(method, err == null ? 'OK' : codeName(err.code), (performance.now() - t0) / 1000);
      } finally {
        callback(err, res, trailer, flags);
      }
    });
  };
}

/**
 * A server stream is observed when it ends: 'finish' after end() carries OK or the status of an
 * 'error' emitted before it (grpc-js ends the stream with that status); 'cancelled' is the caller
 * leaving or the deadline passing. Its duration is the stream's whole lifetime.
 */
function observeServerStream(method: string, handler: StreamHandler, observe: ObserveCall): StreamHandler {
  return (call) => {
    const t0 = performance.now();
    let code = 'OK';
    let done = false;
    const finish = (c: string): void => {
      if (done) return;
      done = true;
      observe(method, c, (performance.now() - t0) / 1000);
    };
    call.once('error', (err: { code?: unknown }) => (code = codeName(err.code ?? status.UNKNOWN)));
    call.once('finish', () => finish(code));
    call.once('cancelled', () => finish('CANCELLED'));
    return handler(call);
  };
}
