/**
 * A write's request id as gRPC metadata, for etcd's API (its messages have no field for one): the
 * server's dedupe table applies a (clientId, seq) once, so a client may resend a write whose outcome it
 * does not know. One key, `<clientId>/<seq>`: the seq is the digits after the LAST slash, so a client id
 * may itself contain slashes (the client's write sessions are `<id>/<n>`). Metadata values are
 * printable ASCII, hence the client id's alphabet.
 */
export const REQUEST_ID_METADATA_KEY = 'raftkv-request-id';

/** Printable ASCII without spaces, 1..128 characters. */
export const CLIENT_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

export interface RequestIdParts {
  readonly clientId: string;
  readonly seq: number;
}

export function formatRequestId(id: RequestIdParts): string {
  return `${id.clientId}/${id.seq}`;
}

/** The id in a metadata value, or null when the value is not one (the caller answers INVALID_ARGUMENT). */
export function parseRequestId(value: string): RequestIdParts | null {
  const slash = value.lastIndexOf('/');
  if (slash <= 0) return null;
  const clientId = value.slice(0, slash);
  const digits = value.slice(slash + 1);
  if (!CLIENT_ID_PATTERN.test(clientId) || !/^[1-9]\d{0,15}$/.test(digits)) return null;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) ? { clientId, seq } : null;
}
