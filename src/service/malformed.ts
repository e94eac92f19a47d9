import { InvalidArgumentError } from '../common/errors.js';

const MALFORMED = Symbol('malformed');

interface Malformed {
  readonly [MALFORMED]: string;
}

/**
 * Wraps a service definition so a request that does not decode yields a marker instead of throwing:
 * grpc-js would answer INTERNAL; the handler turns the marker into INVALID_ARGUMENT.
 */
export function tolerantDefinition<D extends Record<string, { requestDeserialize: (b: Buffer) => unknown }>>(def: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      ...m,
      requestDeserialize: (b: Buffer): unknown => {
        try {
          return m.requestDeserialize(b);
        } catch (e) {
          return { [MALFORMED]: e instanceof Error ? e.message : String(e) } satisfies Malformed;
        }
      },
    };
  }
  return out as D;
}

export function checkMalformed(req: unknown): void {
  if (typeof req === 'object' && req !== null && MALFORMED in req) {
    const why = (req as Malformed)[MALFORMED];
    // The generated code carries int64 as a JS number: larger values (e.g. an etcd lease id chosen
    // by a client) cannot be represented, and say so.
    if (/MAX_SAFE_INTEGER|MIN_SAFE_INTEGER/.test(why)) {
      throw new InvalidArgumentError(`an int64 field holds a value outside ±(2^53 - 1); raftkv supports only ids and revisions up to ${Number.MAX_SAFE_INTEGER} (lease ids included)`);
    }
    throw new InvalidArgumentError(`request is not a valid protobuf message: ${why}`);
  }
}
