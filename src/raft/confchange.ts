import { InvalidArgumentError, ProposalDroppedError } from '../common/errors.js';
import { ConfChangeType, type ConfChange, type ConfState } from './types.js';

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

/** Refuses a change the configuration cannot take (ProposalDroppedError): checked at proposal. */
export function checkConfChange(conf: ConfState, cc: ConfChange): void {
  const isVoter = conf.voters.includes(cc.nodeId);
  if (cc.type === ConfChangeType.RemoveNode && conf.voters.length === 1 && isVoter) {
    throw new ProposalDroppedError('cannot remove the last voter');
  }
  if (cc.type === ConfChangeType.AddLearner && isVoter) {
    throw new ProposalDroppedError(`node ${cc.nodeId} is already a voter (demotion is not supported)`);
  }
}

/** The configuration after applying `cc` to `conf` (one change at a time, no joint consensus). */
export function nextConf(conf: ConfState, cc: ConfChange): ConfState {
  const others = (ids: readonly number[]): number[] => ids.filter((id) => id !== cc.nodeId);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      return { voters: conf.voters.includes(cc.nodeId) ? [...conf.voters] : [...conf.voters, cc.nodeId], learners: others(conf.learners) };
    case ConfChangeType.AddLearner:
      if (conf.voters.includes(cc.nodeId) || conf.learners.includes(cc.nodeId)) return { voters: [...conf.voters], learners: [...conf.learners] };
      return { voters: [...conf.voters], learners: [...conf.learners, cc.nodeId] };
    case ConfChangeType.RemoveNode:
      return { voters: others(conf.voters), learners: others(conf.learners) };
  }
}
