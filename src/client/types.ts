/** Public types of the client. Keys and values go in as strings (UTF-8) or bytes and come back as Buffers. */
export type Bytes = string | Uint8Array;

export interface CallOptions {
  /** Aborting cancels the call (and its retries) with ClientAbortedError. */
  readonly signal?: AbortSignal;
  /** Deadline for the whole call, retries included; defaults to the client's `defaultTimeoutMs`. */
  readonly timeoutMs?: number;
}

export type Consistency = 'linearizable' | 'stale';

export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Writes since creation: 1 after the first put. */
  readonly version: number;
  /** The lease the key is attached to (it goes when the lease does); 0 for none. */
  readonly lease: number;
}

export interface PutOptions {
  /** Return the key's previous state in `prevKv`. */
  readonly prevKv?: boolean;
  /** Attach the key to this lease (from `leaseGrant`); 0 or absent: no lease. */
  readonly lease?: number;
}

export interface PutResult {
  readonly revision: number;
  readonly prevKv: KeyValue | null;
}

export interface GetResult {
  readonly revision: number;
  readonly kv: KeyValue | null;
}

/** One key, every key with a prefix, or the range [start, end). */
export type DeleteTarget = Bytes | { readonly prefix: Bytes } | { readonly start: Bytes; readonly end: Bytes };

export interface DeleteResult {
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: KeyValue[];
}

/** Every key with a prefix, or [start, end) (no end: to the last key). */
export type RangeTarget = { readonly prefix: Bytes } | { readonly start: Bytes; readonly end?: Bytes };

export interface RangeOptions {
  /** Page size; 0 or absent means the server's maximum. */
  readonly limit?: number;
  /** Continue strictly after this key: the `nextStartAfter` of the previous page. */
  readonly startAfter?: Bytes;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly consistency?: Consistency;
}

export interface RangeResult {
  readonly revision: number;
  readonly kvs: KeyValue[];
  /** Keys from where this page starts to the end of the range, not only this page. */
  readonly count: number;
  readonly more: boolean;
  /** Pass as `startAfter` for the next page; null when `more` is false. */
  readonly nextStartAfter: Buffer | null;
}

export type CompareTarget = 'value' | 'version' | 'createRevision' | 'modRevision' | 'lease';
export type CompareOp = '==' | '!=' | '<' | '>';

/** A missing key has version, createRevision and modRevision 0 and never compares on its value. */
export interface Compare {
  readonly key: Bytes;
  readonly target: CompareTarget;
  readonly op: CompareOp;
  /** Bytes for target 'value', a number otherwise. */
  readonly value: Bytes | number;
}

export type TxnOp =
  | { readonly type: 'put'; readonly key: Bytes; readonly value: Bytes; readonly prevKv?: boolean; readonly lease?: number }
  | { readonly type: 'delete'; readonly target: DeleteTarget; readonly prevKv?: boolean }
  | { readonly type: 'range'; readonly target: RangeTarget; readonly options?: RangeOptions };

export type TxnOpResult =
  | { readonly type: 'put'; readonly result: PutResult }
  | { readonly type: 'delete'; readonly result: DeleteResult }
  | { readonly type: 'range'; readonly result: RangeResult };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnResult {
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: TxnOpResult[];
}

export interface CasResult {
  readonly revision: number;
  readonly succeeded: boolean;
  /** On failure, the key's current state (null when absent). On success, null. */
  readonly current: KeyValue | null;
}

export type WatchTarget = Bytes | { readonly prefix: Bytes };

export interface WatchOptions {
  /** Replay events with revision >= fromRevision first; 0 or absent means "from now". */
  readonly fromRevision?: number;
  readonly prevKv?: boolean;
  readonly signal?: AbortSignal;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: KeyValue;
  /** The previous mod revision when the watch asked for `prevKv` (etcd events carry no other), else 0. */
  readonly prevModRevision: number;
  readonly prevKv: KeyValue | null;
}

export interface WatchBatch {
  /** The store's revision when the batch was sent. */
  readonly revision: number;
  readonly events: WatchEvent[];
}

export interface LeaseGrantResult {
  readonly revision: number;
  /** The lease id: pass it to `put` (`lease`), `leaseKeepAlive`, `leaseRevoke`. */
  readonly id: number;
  /** The TTL the server granted (it raises one below its minimum). */
  readonly ttlSeconds: number;
}

export interface LeaseTimeToLiveResult {
  readonly revision: number;
  readonly id: number;
  /** Seconds left; -1 when the lease does not exist (expired or revoked). */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  /** The keys attached to it, when asked for with `keys: true`. */
  readonly keys: Buffer[];
}

export interface LeaseListResult {
  readonly revision: number;
  readonly ids: number[];
}

export interface KeepAliveResult {
  readonly id: number;
  /** The TTL the lease was renewed to. */
  readonly ttlSeconds: number;
}

export interface LockResult {
  readonly revision: number;
  /** The lock's ownership key (`<name>/<lease hex>`): pass it to `unlock`. It exists while the lock is held. */
  readonly key: Buffer;
}

/** A campaign's win: what `proclaim` and `resign` need. */
export interface LeaderKey {
  readonly name: Buffer;
  /** The leader's key (`<name>/<lease hex>`); leadership ends when it is deleted. */
  readonly key: Buffer;
  /** The key's create revision. */
  readonly revision: number;
  readonly lease: number;
}

export interface LeaderResult {
  readonly revision: number;
  /** The leader's key and its proclaimed value; null when nobody leads. */
  readonly kv: KeyValue | null;
}

export interface CompactResult {
  readonly revision: number;
}

export type Suffrage = 'voter' | 'nonvoter' | 'unknown';

export interface ClusterHeader {
  readonly raftTerm: number;
  readonly memberId: number;
  readonly leaderId: number;
}

export interface Member {
  readonly id: number;
  readonly raftAddress: string;
  readonly grpcAddress: string;
  readonly suffrage: Suffrage;
  readonly leader: boolean;
  readonly lastContactMs: number;
  readonly matchIndex: number;
}

export interface MembersResult {
  readonly header: ClusterHeader;
  readonly members: Member[];
}

export interface StatusResult {
  readonly header: ClusterHeader;
  readonly role: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstLogIndex: number;
  readonly lastLogIndex: number;
  readonly logEntries: number;
  readonly logBytes: number;
  readonly snapshotsTaken: number;
  readonly lastSnapshotIndex: number;
  readonly kvRevision: number;
  readonly kvKeys: number;
  readonly voters: number;
  readonly nonvoters: number;
  readonly version: string;
  readonly uptimeMs: number;
}

export interface ConfChangeResult {
  readonly header: ClusterHeader;
  /** Raft index of the configuration change entry. */
  readonly index: number;
}

export interface TransferResult {
  readonly header: ClusterHeader;
  readonly newLeaderId: number;
}

export interface SnapshotResult {
  readonly header: ClusterHeader;
  readonly index: number;
  readonly term: number;
  readonly sizeBytes: number;
}

export type KeyringOperation = 'list' | 'install' | 'use' | 'remove';

/** One member's answer to a keyring request. */
export interface KeyringMemberResult {
  readonly id: number;
  readonly grpcAddress: string;
  readonly ok: boolean;
  readonly error: string;
  /** Fingerprints of its installed gossip keys (SHA-256, first 8 bytes, hex), primary first. */
  readonly fingerprints: readonly string[];
}

export interface KeyringResult {
  readonly header: ClusterHeader;
  readonly members: readonly KeyringMemberResult[];
}
