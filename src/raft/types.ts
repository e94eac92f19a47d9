/**
 * Types of the Raft core's contract. Everything here is plain data so the transport can encode it and
 * the simulation can copy it. Node ids are positive integers; 0 means "none".
 */
export type NodeId = number;
export const NONE: NodeId = 0;

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque application bytes (Normal) or an encoded ConfChange (ConfChange). Empty for the leader's no-op. */
  readonly data: Uint8Array;
}

/** What must be durable before a node answers a vote or an append: term, vote and commit. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export const ConfChangeType = { AddVoter: 0, AddLearner: 1, RemoveNode: 2 } as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/** One server at a time: add a voter (or promote a learner), add a learner, remove a node. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque host context (for example the new member's address), carried through the log. */
  readonly context: Uint8Array;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/**
 * A snapshot as the core sees it. `data` is opaque; a driver that streams snapshots from files may
 * leave it empty in messages and attach the file on the wire, keyed by (index, term).
 */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export const MessageType = {
  // Local messages: never sent over the network.
  Hup: 0,
  Beat: 1,
  Prop: 2,
  SnapStatus: 3,
  Unreachable: 4,
  CheckQuorum: 5,
  // Network messages.
  App: 10,
  AppResp: 11,
  Vote: 12,
  VoteResp: 13,
  PreVote: 14,
  PreVoteResp: 15,
  Heartbeat: 16,
  HeartbeatResp: 17,
  Snap: 18,
  TransferLeader: 19,
  TimeoutNow: 20,
  ReadIndex: 21,
  ReadIndexResp: 22,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export function messageTypeName(t: MessageType): string {
  for (const [name, value] of Object.entries(MessageType)) if (value === t) return name;
  return `Unknown(${t})`;
}

/**
 * One message shape for every type, as in etcd-io/raft. Fields a type does not use are zero/empty.
 * - App: `index`/`logTerm` identify the entry before `entries`; `commit` is the leader's commit.
 * - AppResp: `index` is the last index the follower matched (or, when `reject`, the index that
 *   was rejected), `rejectHint`/`logTerm` are the conflict hint for fast backtracking.
 * - Vote/PreVote: `index`/`logTerm` describe the candidate's last entry.
 * - Heartbeat: `commit` is min(leader commit, follower match); `context` echoes a ReadIndex round.
 * - ReadIndex/ReadIndexResp: `context` is the caller's request id; `index` the read index.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot: Snapshot | null;
  readonly context: Uint8Array;
}

export const Role = { Follower: 0, PreCandidate: 1, Candidate: 2, Leader: 3 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export function roleName(r: Role): string {
  return ['follower', 'pre-candidate', 'candidate', 'leader'][r] ?? `role(${r})`;
}

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A ReadIndex request that became safe: once applied >= index, reads may be served for `context`. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * What the driver must do, in this order:
 *  1. Send `messages` (safe before persisting: the leader's own appends/heartbeats).
 *  2. Persist `snapshot` (if any), `entries` (appending; an entry at an existing index replaces it and
 *     everything after) and `hardState` (if any) as ONE synced write.
 *  3. Send `messagesAfterPersist` (votes and append acknowledgements that promise durability).
 *  4. Apply `committedEntries` in order (and `applyConfChange` for ConfChange entries).
 *  5. Serve `readStates` once applied >= their index.
 *  6. Call `advance(ready)`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when step 2 must fsync (entries, term or vote changed). */
  readonly mustSync: boolean;
}

export const ProgressState = { Probe: 0, Replicate: 1, Snapshot: 2 } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflight: number;
}

/** What a driver reads of the core on every request: cheap (no allocation per peer). */
export interface BasicStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly role: Role;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly leadTransferee: NodeId;
}

export interface Status extends BasicStatus {
  readonly conf: ConfState;
  /** Leader only: per-peer replication progress. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function makeMessage(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: EMPTY_BYTES,
    ...fields,
  };
}
