import type { Registry } from './registry.js';

/** From a fast local read (0.5 ms) to a write waiting out a slow election (5 s). */
export const GRPC_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type CounterChild = { inc(by?: number): void };
type HistogramChild = { observe(v: number): void };

interface MethodInstruments {
  readonly seconds: HistogramChild;
  /** Counter children by status name, created on a status's first use and then reused. */
  readonly byCode: Map<string, CounterChild>;
}

/**
 * Per-method request metrics, fed by the gRPC server's per-call wrapper. Returns the callback it
 * calls once per finished call. Label children are cached per method and per (method, status), so a
 * call costs two map lookups, one histogram observe and one counter increment, with no label objects
 * built. Methods come from the service definitions and status names from the 17 gRPC codes, so both
 * labels are bounded; the registry's label-set limit is the backstop.
 */
export function registerGrpcMetrics(r: Registry): (method: string, code: string, seconds: number) => void {
  const requests = r.counter({ name: 'raftkv_grpc_requests_total', help: 'gRPC calls this node served, by method and final status (a watch stream counts when it ends).', labelNames: ['method', 'code'] });
  const seconds = r.histogram({ name: 'raftkv_grpc_request_duration_seconds', help: 'Time from a gRPC call arriving to its status being sent, in seconds (for a watch: the stream lifetime).', labelNames: ['method'], buckets: GRPC_SECONDS_BUCKETS });
  const byMethod = new Map<string, MethodInstruments>();
  return (method, code, secs) => {
    let m = byMethod.get(method);
    if (m === undefined) {
      m = { seconds: seconds.labels({ method }), byCode: new Map() };
      byMethod.set(method, m);
    }
    let c = m.byCode.get(code);
    if (c === undefined) {
      c = requests.labels({ method, code });
      m.byCode.set(code, c);
    }
    c.inc();
    m.seconds.observe(secs);
  };
}
