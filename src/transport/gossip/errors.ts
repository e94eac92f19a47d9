import { ErrorCode, RaftkvError } from '../../common/index.js';

/** A gossip socket could not be bound or used. */
export class GossipTransportError extends RaftkvError {
  override readonly name = 'GossipTransportError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unavailable, message, options);
  }
}

/** A keyring operation was invalid (bad key size, removing the primary key, unknown key). */
export class GossipKeyringError extends RaftkvError {
  override readonly name = 'GossipKeyringError';
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
  }
}
