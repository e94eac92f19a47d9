import { InvalidArgumentError } from '../common/errors.js';
import { ConfChangeType, type ConfChange } from './types.js';

/** ConfChange entries in the log: [version u8][type u8][nodeId u32 BE][context bytes]. */
const VERSION = 1;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const out = new Uint8Array(6 + cc.context.byteLength);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  out[1] = cc.type;
  view.setUint32(2, cc.nodeId);
  out.set(cc.context, 6);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < 6 || data[0] !== VERSION) throw new InvalidArgumentError('malformed conf change entry');
  const type = data[1]!;
  if (type !== ConfChangeType.AddVoter && type !== ConfChangeType.AddLearner && type !== ConfChangeType.RemoveNode) {
    throw new InvalidArgumentError(`unknown conf change type ${type}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { type, nodeId: view.getUint32(2), context: data.slice(6) };
}
