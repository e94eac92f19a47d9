import { decodeConfChange } from '../../src/raft/confchange.js';
import { EntryType, MessageType, messageTypeName, type Entry, type Message } from '../../src/raft/types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
const CONF_CHANGE_NAMES = ['AddVoter', 'AddLearner', 'RemoveNode'];

/** Printable UTF-8 as a quoted string, anything else as hex (contexts and entry payloads). */
export function formatBytes(b: Uint8Array): string {
  try {
    const s = decoder.decode(b);
    if (/^[\x20-\x7e]*$/.test(s)) return JSON.stringify(s);
  } catch {
    // not UTF-8: fall through to hex
  }
  return `0x${Buffer.from(b).toString('hex')}`;
}

/** `term/index`, plus the payload when there is one: `2/6:"x"`, `2/7:AddLearner(4)`. */
export function formatEntry(e: Entry): string {
  const id = `${e.term}/${e.index}`;
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    return `${id}:${CONF_CHANGE_NAMES[cc.type] ?? cc.type}(${cc.nodeId})`;
  }
  return e.data.byteLength === 0 ? id : `${id}:${formatBytes(e.data)}`;
}

/**
 * One line per message, showing only the fields its type uses, e.g.
 * `1->2 MsgApp term=2 index=5 logTerm=1 entries=[2/6] commit=5`.
 */
export function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} Msg${messageTypeName(m.type)} term=${m.term}`];
  const ctx = m.context.byteLength > 0 ? ` ctx=${formatBytes(m.context)}` : '';
  switch (m.type) {
    case MessageType.App:
      parts.push(`index=${m.index} logTerm=${m.logTerm}`);
      if (m.entries.length > 0) parts.push(`entries=[${m.entries.map(formatEntry).join(',')}]`);
      parts.push(`commit=${m.commit}`);
      break;
    case MessageType.AppResp:
      parts.push(`index=${m.index}`);
      if (m.reject) parts.push(`rejected hint=${m.rejectHint}/${m.logTerm}`);
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      parts.push(`index=${m.index} logTerm=${m.logTerm}`);
      if (m.context.byteLength > 0) parts.push('transfer');
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      if (m.reject) parts.push('rejected');
      break;
    case MessageType.Heartbeat:
      parts.push(`commit=${m.commit}${ctx}`);
      break;
    case MessageType.HeartbeatResp:
    case MessageType.ReadIndex:
      if (ctx) parts.push(ctx.trim());
      break;
    case MessageType.ReadIndexResp:
      parts.push(`index=${m.index}${ctx}`);
      break;
    case MessageType.Snap: {
      const s = m.snapshot;
      if (s) parts.push(`snap=${s.meta.term}/${s.meta.index} voters=[${s.meta.conf.voters.join(',')}] learners=[${s.meta.conf.learners.join(',')}]`);
      break;
    }
  }
  return parts.join(' ');
}
