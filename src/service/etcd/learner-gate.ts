import { mapHandlers, refuseCall, type MethodShape } from '../handler-map.js';
import type { ServiceNode } from '../node-port.js';
import { EtcdError, toEtcdStatus } from './errors.js';

type AnyCall = { readonly request?: unknown; emit?: (event: 'error', err: unknown) => unknown };
type AnyHandler = (call: AnyCall, callback?: (err: unknown, value: unknown) => void) => unknown;

/**
 * etcd's learner rule: a learner serves only serializable Range and Status; every other call of the
 * etcd API (writes, linearizable reads, watches, leases, member calls) is refused with Unavailable
 * `rpc not supported for learner`, so that etcd's clients fail over to a voting member.
 * `allowed` names the calls a learner still serves (from the method name and its request).
 */
export function refuseOnLearner<I extends object>(def: Readonly<Record<string, MethodShape>>, impl: I, node: Pick<ServiceNode, 'isLearner'>, allowed: (method: string, request: unknown) => boolean = () => false): I {
  return mapHandlers(def, impl, (handler, name, m) => {
    const h = handler as AnyHandler;
    return (call: AnyCall, callback?: (err: unknown, value: unknown) => void) => {
      // A stream's requests arrive later: a learner refuses the stream as a whole, as etcd does.
      if (!node.isLearner() || (!m.requestStream && allowed(name, call.request))) return h(call, callback);
      refuseCall(m, call, callback, toEtcdStatus(new EtcdError('notSupportedForLearner')));
      return undefined;
    };
  });
}

/** KV: serializable Range only. */
export function learnerMayServeKv(method: string, request: unknown): boolean {
  return method === 'range' && (request as { serializable?: boolean } | undefined)?.serializable === true;
}

/** Maintenance: Status only. */
export function learnerMayServeMaintenance(method: string): boolean {
  return method === 'status';
}
