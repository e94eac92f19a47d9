import type { MessageType as RaftMessageType } from '../../raft/types.js';

/*
 * The transport may import only types from src/raft (layer rule), so the few message-type values it
 * branches on are restated here. Each is typed as the core's own constant: if the core renumbers one,
 * this file stops compiling instead of the wire silently changing meaning.
 */
export const MSG_APP: (typeof RaftMessageType)['App'] = 10;
export const MSG_SNAP: (typeof RaftMessageType)['Snap'] = 18;
