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
}

/** One key (`key`), the range [key, rangeEnd), or every key starting with `prefix`. */
export interface DeleteOp {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly prefix: Uint8Array;
  readonly prevKv: boolean;
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
}

export const CompareResult = { Equal: 0, NotEqual: 1, Less: 2, Greater: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

export type CompareTarget =
  | { readonly kind: 'value'; readonly value: Uint8Array }
  | { readonly kind: 'version'; readonly version: number }
  | { readonly kind: 'createRevision'; readonly createRevision: number }
  | { readonly kind: 'modRevision'; readonly modRevision: number };

export interface Compare {
  readonly key: Uint8Array;
  readonly result: CompareResult;
  readonly target: CompareTarget | null;
}

export type RequestOp =
  | { readonly kind: 'put'; readonly put: PutOp }
  | { readonly kind: 'delete'; readonly delete: DeleteOp }
  | { readonly kind: 'range'; readonly range: RangeOp };

export interface TxnOp {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export type CommandOp =
  | { readonly kind: 'put'; readonly put: PutOp }
  | { readonly kind: 'delete'; readonly delete: DeleteOp }
  | { readonly kind: 'txn'; readonly txn: TxnOp };

/** The payload of a Normal raft entry. */
export interface Command {
  readonly op: CommandOp | null;
  readonly requestId: RequestId | null;
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

export type OpResult = PutResult | DeleteResult | RangeResult;

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

export type CommandResult = PutResult | DeleteResult | TxnResult | InvalidResult;

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
