import { encodeConfChange } from './confchange.js';
import { ConfChangeType, EntryType, type Entry, type HardState, type NodeId } from './types.js';

/**
 * The first entries of a new cluster's log: one AddVoter per initial voter, in term 1, committed.
 * Keeping the initial configuration in the log (as etcd does) means a member added later learns
 * the whole membership history by replaying the log, not only from a snapshot.
 */
export function bootstrapEntries(
  voters: readonly NodeId[],
  contextOf: (id: NodeId) => Uint8Array = () => new Uint8Array(0),
): { entries: Entry[]; hardState: HardState } {
  const entries: Entry[] = voters.map((id, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddVoter, nodeId: id, context: contextOf(id) }),
  }));
  return { entries, hardState: { term: 1, vote: 0, commit: entries.length } };
}
