/** A method's streaming shape, as grpc-js service definitions give it. */
export interface MethodShape {
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/**
 * `impl` with every handler that `def` names replaced by `wrap(handler, name, method)` (its other
 * members as they are): the one loop behind the auth gate, the learner gate and the metrics
 * observer. `handler` is the implementation's function; each wrapper knows its call shape.
 */
export function mapHandlers<I extends object, M extends MethodShape>(def: Readonly<Record<string, M>>, impl: I, wrap: (handler: unknown, name: string, method: M) => unknown): I {
  const out: Record<string, unknown> = { ...(impl as Record<string, unknown>) };
  for (const [name, method] of Object.entries(def)) {
    const handler = (impl as Record<string, unknown>)[name];
    if (typeof handler === 'function') out[name] = wrap(handler, name, method);
  }
  return out as I;
}

/** Ends a call refused before its handler ran: a unary call through its callback, a stream with an error event. */
export function refuseCall(method: MethodShape, call: { emit?(event: 'error', err: unknown): unknown }, callback: ((err: unknown, res: null) => void) | undefined, status: unknown): void {
  if (!method.requestStream && !method.responseStream) callback?.(status, null);
  else call.emit?.('error', status);
}
