import { Server, ServerCredentials } from '@grpc/grpc-js';
import { Limits } from '../common/limits.js';
import { ClusterService } from '../gen/raftkv/v1/cluster.js';
import { KVService } from '../gen/raftkv/v1/kv.js';
import { createClusterServer } from './cluster-service.js';
import { SERVICE_DEFAULTS, type ServiceDeps } from './deps.js';
import { Forwarder } from './forward.js';
import { HealthReporter } from './health.js';
import { createKvServer } from './kv-service.js';
import { tolerantDefinition } from './malformed.js';
import { addReflection } from './reflection.js';
import { LeaderRouter } from './router.js';

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

export async function startGrpcServer(deps: ServiceDeps, listenAddr: string, extra: { learnAddress?: (id: number, grpcAddr: string) => void } = {}): Promise<RaftkvGrpcServer> {
  const opts = { ...SERVICE_DEFAULTS, ...deps.options };
  const shutdownCtl = new AbortController();
  const forwarder = new Forwarder(deps.node.id, deps.resolver);
  const router = new LeaderRouter(deps.node, deps.resolver, forwarder, opts.leaderWaitMs);
  const ctx = { deps, router, requestTimeoutMs: opts.requestTimeoutMs, shutdown: shutdownCtl.signal, startedAtMs: Date.now(), ...extra };

  const server = new Server({
    'grpc.max_receive_message_length': Limits.requestBytesMax,
    'grpc.max_send_message_length': SEND_MESSAGE_BYTES_MAX,
    'grpc.max_concurrent_streams': CONCURRENT_STREAMS_MAX,
  });
  server.addService(tolerantDefinition(KVService), createKvServer(ctx));
  server.addService(tolerantDefinition(ClusterService), createClusterServer(ctx));
  const health = new HealthReporter(deps.node);
  health.addToServer(server);
  if (!addReflection(server)) deps.logger.warn('server reflection disabled: descriptor set raftkv.binpb not found');

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listenAddr, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  const host = listenAddr.slice(0, listenAddr.lastIndexOf(':'));
  const address = `${host}:${port}`;
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
