import type { ServiceNode } from '../node-port.js';
import { EtcdError, toEtcdStatus } from './errors.js';

type AnyCall = { readonly request?: unknown; emit?: (event: 'error', err: unknown) => unknown };
type AnyHandler = (call: AnyCall, callback?: (err: unknown, value: unknown) => void) => unknown;
type ServiceDef = Record<string, { readonly requestStream: boolean; readonly responseStream: boolean }>;

/**
 * etcd's learner rule: a learner serves only serializable Range and Status; every other call of the
 * etcd API (writes, linearizable reads, watches, leases, member calls) is refused with Unavailable
 * `rpc not supported for learner`, so that etcd's clients fail over to a voting member.
 * `allowed` names the calls a learner still serves (from the method name and its request).
 */
export function refuseOnLearner<I extends object>(def: ServiceDef, impl: I, node: Pick<ServiceNode, 'isLearner'>, allowed: (method: string, request: unknown) => boolean = () => false): I {
  const out: Record<string, unknown> = { ...(impl as Record<string, unknown>) };
  for (const [key, m] of Object.entries(def)) {
    const handler = (impl as Record<string, unknown>)[key];
    if (typeof handler !== 'function') continue;
    const h = handler as AnyHandler;
    out[key] = (call: AnyCall, callback?: (err: unknown, value: unknown) => void) => {
      // A stream's requests arrive later: a learner refuses the stream as a whole, as etcd does.
      if (!node.isLearner() || (!m.requestStream && allowed(key, call.request))) return h(call, callback);
      const st = toEtcdStatus(new EtcdError('notSupportedForLearner'));
      if (!m.requestStream && !m.responseStream) callback?.(st, null);
      else call.emit?.('error', st);
      return undefined;
    };
  }
  return out as I;
}

/** KV: serializable Range only. */
export function learnerMayServeKv(method: string, request: unknown): boolean {
  return method === 'range' && (request as { serializable?: boolean } | undefined)?.serializable === true;
}

/** Maintenance: Status only. */
export function learnerMayServeMaintenance(method: string): boolean {
  return method === 'status';
}
