import type { Metadata } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../common/errors.js';
import { parseRequestId, REQUEST_ID_METADATA_KEY } from '../common/request-id.js';
import type { RequestId } from '../kv/types.js';

/**
 * The request id a client sent as gRPC metadata (etcd's messages have no field for one), so a resent
 * write applies once; null without one. A malformed value is refused, not ignored: ignoring it would
 * silently turn a retry-safe write into one that may apply twice.
 */
export function requestIdFromMetadata(md: Metadata): RequestId | null {
  const values = md.get(REQUEST_ID_METADATA_KEY);
  if (values.length === 0) return null;
  const value = values[0];
  const id = values.length === 1 && typeof value === 'string' ? parseRequestId(value) : null;
  if (id === null) throw new InvalidArgumentError(`metadata ${REQUEST_ID_METADATA_KEY} must be one "<client id>/<seq>" value (seq from 1)`);
  return id;
}

/** Copies the request id (if any) onto the metadata of a call forwarded to the leader. */
export function copyRequestId(from: Metadata, to: Metadata): void {
  for (const v of from.get(REQUEST_ID_METADATA_KEY)) to.add(REQUEST_ID_METADATA_KEY, v);
}
