import type { AuthCommand, AuthFailure } from '../auth/types.js';

/**
 * The state machine's domain types. They mirror proto/raftkv/v1/{kv,command}.proto field for field
 * (src/kv/codec.ts encodes them wire-compatibly) but stay independent of the generated code, which the
 * layer rules keep out of src/kv. Byte strings are Uint8Array; an empty one means "not set".
 */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Revision of the write that created the key; reset when it is deleted and created again. */
  readonly createRevision: number;
  readonly modRevision: number;
  /** Writes since creation: 1 after the first put. */
  readonly version: number;
  /** The lease the key is attached to; absent (never 0) when none. */
  readonly lease?: number;
}

/** Identifies a write so a retry applies once. `seq` grows per client; one write in flight per client. */
export interface RequestId {
  readonly clientId: string;
  readonly seq: number;
}

export interface PutOp {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly prevKv: boolean;
  /** Attach the key to this lease (which must exist); absent or 0: detach it from any lease. */
  readonly lease?: number;
  /** Keep the current value (the key must exist; `value` must be empty). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist; `lease` must be 0). */
  readonly ignoreLease?: boolean;
}

/** Creates lease `id` (> 0, chosen by the proposer) with a TTL in seconds. */
export interface LeaseGrantOp {
  readonly id: number;
  readonly ttlSeconds: number;
}

/** Deletes lease `id` and every key attached to it, in one revision. */
export interface LeaseRevokeOp {
  readonly id: number;
}

/**
 * etcd's Compact: forgets every version older than `revision` (each key keeps its version as of
 * `revision` unless that is a delete). Creates no revision.
 */
export interface CompactOp {
  readonly revision: number;
}

/**
 * One key (`key`), the range [key, rangeEnd), every key starting with `prefix`, or (`fromKey`) every
 * key from `key` on (etcd's range_end "\0").
 */
export interface DeleteOp {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly prefix: Uint8Array;
  readonly prevKv: boolean;
  readonly fromKey?: boolean;
}

/** Every key with `prefix`, or [start, end) (empty end: to the last key); strictly after `startAfter`. */
export interface RangeOp {
  readonly prefix: Uint8Array;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  /** 0: the store's page maximum. */
  readonly limit: number;
  readonly startAfter: Uint8Array;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  /**
   * Internal scans that read a range page by page (snapshots, hashes, lock and election queues):
   * stop at the end of the page. `count` then covers the page only and `more` says whether a key
   * follows. Counting the rest of the range on every page made a scan quadratic (a 1,000,000-key
   * Maintenance.Snapshot took 519 s). Not on the wire: a client's Range counts the whole range.
   */
  readonly pageOnly?: boolean;
  /**
   * Inside a txn: read the keyspace as of this revision (absent or 0: the current state, the txn's
   * own earlier writes included). Top-level reads pass the revision to KvStore.range instead.
   */
  readonly revision?: number;
}

export const CompareResult = { Equal: 0, NotEqual: 1, Less: 2, Greater: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

export type CompareTarget =
  | { readonly kind: 'value'; readonly value: Uint8Array }
  | { readonly kind: 'version'; readonly version: number }
  | { readonly kind: 'createRevision'; readonly createRevision: number }
  | { readonly kind: 'modRevision'; readonly modRevision: number }
  | { readonly kind: 'lease'; readonly lease: number };

export interface Compare {
  readonly key: Uint8Array;
  readonly result: CompareResult;
  readonly target: CompareTarget | null;
  /**
   * Absent: compare `key` alone. Present: every key of [key, rangeEnd) must satisfy it (empty:
   * every key from `key` on); a range without keys compares as one missing key.
   */
  readonly rangeEnd?: Uint8Array;
}

export type RequestOp =
  | { readonly kind: 'put'; readonly put: PutOp }
  | { readonly kind: 'delete'; readonly delete: DeleteOp }
  | { readonly kind: 'range'; readonly range: RangeOp }
  | { readonly kind: 'txn'; readonly txn: TxnOp };

export interface TxnOp {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export type CommandOp =
  | { readonly kind: 'put'; readonly put: PutOp }
  | { readonly kind: 'delete'; readonly delete: DeleteOp }
  | { readonly kind: 'txn'; readonly txn: TxnOp }
  | { readonly kind: 'leaseGrant'; readonly leaseGrant: LeaseGrantOp }
  | { readonly kind: 'leaseRevoke'; readonly leaseRevoke: LeaseRevokeOp }
  | { readonly kind: 'compact'; readonly compact: CompactOp }
  /** A change of the auth state (src/auth; applied by src/kv/auth-section.ts). */
  | { readonly kind: 'auth'; readonly auth: AuthCommand };

/**
 * Who a client command runs for, stamped by the member that checked the caller: with auth on, the
 * state machine checks the user's permissions again at apply time, against the auth state of that
 * point of the log, so a change of roles takes effect at the same place on every member.
 */
export interface CallerStamp {
  /** The verified user; '' when the command was accepted while auth was off. */
  readonly user: string;
  /** The auth revision the member checked against. */
  readonly authRevision: number;
}

/** The payload of a Normal raft entry. */
export interface Command {
  readonly op: CommandOp | null;
  readonly requestId: RequestId | null;
  /** Absent for the members' own commands (lease expiry), which auth does not restrict. */
  readonly caller?: CallerStamp;
}

/** `revision` is the store's revision after the command (the header revision of the response). */
export interface PutResult {
  readonly kind: 'put';
  readonly revision: number;
  readonly prevKv: KeyValue | null;
}

export interface DeleteResult {
  readonly kind: 'delete';
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

export interface RangeResult {
  readonly kind: 'range';
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  /** Keys in the whole range, not only this page. */
  readonly count: number;
  readonly more: boolean;
  /** Pass as `startAfter` for the next page; empty when `more` is false. */
  readonly nextStartAfter: Uint8Array;
}

export type OpResult = PutResult | DeleteResult | RangeResult | TxnResult;

export interface TxnResult {
  readonly kind: 'txn';
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: readonly OpResult[];
}

/** Rejected at apply time, identically on every node; nothing changed. */
export interface InvalidResult {
  readonly kind: 'invalid';
  readonly revision: number;
  readonly message: string;
}

export interface LeaseGrantResult {
  readonly kind: 'leaseGrant';
  readonly revision: number;
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseRevokeResult {
  readonly kind: 'leaseRevoke';
  readonly revision: number;
  /** Keys deleted with the lease (all in this one revision). */
  readonly deleted: number;
}

export interface CompactResult {
  readonly kind: 'compact';
  readonly revision: number;
  /** The compacted revision after the command. */
  readonly compactRevision: number;
}

export const RejectReason = { LeaseNotFound: 1, LeaseExists: 2, KeyNotFound: 3, Compacted: 4, FutureRevision: 5, PermissionDenied: 6, AuthOldRevision: 7 } as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/**
 * Refused at apply time because of the state, identically on every node; nothing changed. Unlike
 * `invalid`, the same command could succeed in another state (the lease exists, the key exists).
 */
export interface RejectedResult {
  readonly kind: 'rejected';
  readonly revision: number;
  readonly reason: RejectReason;
}

/** An auth command's outcome: `failure` null when it applied (the KV revision does not move). */
export interface AuthResult {
  readonly kind: 'auth';
  readonly revision: number;
  readonly authRevision: number;
  readonly failure: AuthFailure | null;
}

export type CommandResult = PutResult | DeleteResult | TxnResult | InvalidResult | LeaseGrantResult | LeaseRevokeResult | RejectedResult | CompactResult | AuthResult;

/** A lease as the state machine keeps it (its expiry is not replicated: only the leader times it). */
export interface LeaseRecord {
  readonly id: number;
  readonly ttlSeconds: number;
}

export const EventType = { Put: 0, Delete: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** One change. For a delete, `kv` has the key and the deleting revision as modRevision, the rest zero. */
export interface WatchEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
  /** The key's mod revision before this change; 0 if it did not exist. */
  readonly prevModRevision: number;
  readonly prevKv: KeyValue | null;
}
