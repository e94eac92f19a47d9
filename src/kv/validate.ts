import { validateAuthCommand } from '../auth/validate.js';
import { InvalidArgumentError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import { bytesEqual, compareBytes } from './keys.js';
import type { KvLimits } from './limits.js';
import { defaultKvLimits } from './limits.js';
import type { Command, Compare, DeleteOp, PutOp, RangeOp, RequestId, RequestOp, TxnOp } from './types.js';

/**
 * Request validation, shared by the service (before proposing) and the state machine (again at apply
 * time, so a bad entry in the log is rejected the same way on every node instead of being executed).
 * Every failure is an InvalidArgumentError whose message names the field and the limit.
 */
export function validateCommand(cmd: Command, limits: Pick<KvLimits, 'clientIdBytesMax'> = defaultKvLimits): void {
  if (cmd.requestId !== null) validateRequestId(cmd.requestId, limits.clientIdBytesMax);
  const op = cmd.op;
  if (op === null) throw new InvalidArgumentError('command has no operation');
  const bytes = { total: 0 };
  if (op.kind === 'put') validatePut(op.put, 'put', bytes);
  else if (op.kind === 'delete') validateDelete(op.delete, 'delete', bytes);
  else if (op.kind === 'txn') validateTxn(op.txn, bytes);
  else if (op.kind === 'leaseGrant') {
    validateLeaseId(op.leaseGrant.id, 'lease_grant.id');
    if (!Number.isSafeInteger(op.leaseGrant.ttlSeconds) || op.leaseGrant.ttlSeconds < 1 || op.leaseGrant.ttlSeconds > LEASE_TTL_SECONDS_MAX) {
      throw new InvalidArgumentError(`lease_grant.ttl_seconds must be an integer in [1, ${LEASE_TTL_SECONDS_MAX}]`);
    }
  } else if (op.kind === 'leaseRevoke') validateLeaseId(op.leaseRevoke.id, 'lease_revoke.id');
  else if (op.kind === 'auth') validateAuthCommand(op.auth);
  else if (!Number.isSafeInteger(op.compact.revision) || op.compact.revision < 1) {
    throw new InvalidArgumentError(`compact.revision must be an integer in [1, ${Number.MAX_SAFE_INTEGER}]`);
  }
  if (bytes.total > Limits.requestBytesMax) {
    throw new InvalidArgumentError(`request carries ${bytes.total} bytes of keys and values; the limit is ${Limits.requestBytesMax}`);
  }
}

export function validateKey(key: Uint8Array, field = 'key'): void {
  if (key.length === 0) throw new InvalidArgumentError(`${field} is empty`);
  checkKeyLength(key, field);
}

function checkKeyLength(key: Uint8Array, field: string): void {
  if (key.length > Limits.keyBytesMax) {
    throw new InvalidArgumentError(`${field} is ${key.length} bytes; the limit is ${Limits.keyBytesMax}`);
  }
}

export function validateRequestId(id: RequestId, clientIdBytesMax = defaultKvLimits.clientIdBytesMax): void {
  const idBytes = Buffer.byteLength(id.clientId, 'utf8');
  if (idBytes === 0) throw new InvalidArgumentError('request_id.client_id is empty');
  if (idBytes > clientIdBytesMax) {
    throw new InvalidArgumentError(`request_id.client_id is ${idBytes} bytes; the limit is ${clientIdBytesMax}`);
  }
  if (id.seq < 1) throw new InvalidArgumentError('request_id.seq must be at least 1');
}

/** etcd's MaxLeaseTTL: 9,000,000,000 s. */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;
/**
 * Lease ids are int64 in etcd; raftkv's generated code carries int64 as a JS number, so ids stay
 * below 2^53 (Number.MAX_SAFE_INTEGER).
 */
export function validateLeaseId(id: number, field: string): void {
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new InvalidArgumentError(`${field} must be an integer in [1, ${Number.MAX_SAFE_INTEGER}] (lease ids above 2^53 - 1 are not supported)`);
  }
}

function validatePut(op: PutOp, where: string, bytes: { total: number }): void {
  validateKey(op.key, `${where}.key`);
  if (op.lease !== undefined && op.lease !== 0) validateLeaseId(op.lease, `${where}.lease`);
  if (op.ignoreValue === true && op.value.length > 0) throw new InvalidArgumentError(`${where}: ignore_value with a non-empty value`);
  if (op.ignoreLease === true && op.lease !== undefined && op.lease !== 0) throw new InvalidArgumentError(`${where}: ignore_lease with a lease`);
  if (op.value.length > Limits.valueBytesMax) {
    throw new InvalidArgumentError(`${where}.value is ${op.value.length} bytes; the limit is ${Limits.valueBytesMax}`);
  }
  bytes.total += op.key.length + op.value.length;
}

/** Exactly one form: `key`, `key` + `range_end` (range_end > key), a non-empty `prefix`, or `key` + `fromKey`. */
export function validateDelete(op: DeleteOp, where = 'delete', bytes = { total: 0 }): void {
  if (op.fromKey === true && (op.prefix.length > 0 || op.rangeEnd.length > 0)) {
    throw new InvalidArgumentError(`${where}: from_key takes key alone (no prefix, no range_end)`);
  }
  if (op.prefix.length > 0) {
    if (op.key.length > 0 || op.rangeEnd.length > 0) {
      throw new InvalidArgumentError(`${where}: give either prefix or key (with an optional range_end), not both`);
    }
    checkKeyLength(op.prefix, `${where}.prefix`);
    bytes.total += op.prefix.length;
    return;
  }
  validateKey(op.key, `${where}.key`);
  if (op.rangeEnd.length > 0) {
    checkKeyLength(op.rangeEnd, `${where}.range_end`);
    if (compareBytes(op.rangeEnd, op.key) <= 0) {
      throw new InvalidArgumentError(`${where}.range_end must sort after key (the range is [key, range_end))`);
    }
  }
  bytes.total += op.key.length + op.rangeEnd.length;
}

/** Range bounds: prefix, or [start, end) with end empty or after start; limit non-negative. */
export function validateRange(op: RangeOp, where = 'range'): void {
  if (op.prefix.length > 0 && (op.start.length > 0 || op.end.length > 0)) {
    throw new InvalidArgumentError(`${where}: give either prefix or start/end, not both`);
  }
  checkKeyLength(op.prefix, `${where}.prefix`);
  checkKeyLength(op.start, `${where}.start`);
  checkKeyLength(op.end, `${where}.end`);
  checkKeyLength(op.startAfter, `${where}.start_after`);
  if (op.end.length > 0 && compareBytes(op.end, op.start) <= 0) {
    throw new InvalidArgumentError(`${where}.end must sort after start (the range is [start, end))`);
  }
  if (!Number.isInteger(op.limit) || op.limit < 0) {
    throw new InvalidArgumentError(`${where}.limit must be a non-negative integer`);
  }
  if (op.revision !== undefined && (!Number.isSafeInteger(op.revision) || op.revision < 0)) {
    throw new InvalidArgumentError(`${where}.revision must be an integer in [0, ${Number.MAX_SAFE_INTEGER}]`);
  }
}

function validateCompare(c: Compare, where: string): void {
  validateKey(c.key, `${where}.key`);
  if (c.rangeEnd !== undefined && c.rangeEnd.length > 0) {
    checkKeyLength(c.rangeEnd, `${where}.range_end`);
    if (compareBytes(c.rangeEnd, c.key) <= 0) throw new InvalidArgumentError(`${where}.range_end must sort after key (the range is [key, range_end))`);
  }
  if (c.target === null) throw new InvalidArgumentError(`${where} has no target (value, version, create_revision or mod_revision)`);
  if (c.target.kind === 'value' && c.target.value.length > Limits.valueBytesMax) {
    throw new InvalidArgumentError(`${where}.value is ${c.target.value.length} bytes; the limit is ${Limits.valueBytesMax}`);
  }
}

function validateTxn(txn: TxnOp, bytes: { total: number }, depth = 1, where = 'txn'): void {
  if (depth > TXN_DEPTH_MAX) throw new InvalidArgumentError(`${where}: txns nest ${depth} deep; the limit is ${TXN_DEPTH_MAX}`);
  for (const [name, list] of [['compare', txn.compare], ['success', txn.success], ['failure', txn.failure]] as const) {
    if (list.length > Limits.txnOpsMax) {
      throw new InvalidArgumentError(`${where}.${name} has ${list.length} entries; the limit is ${Limits.txnOpsMax}`);
    }
  }
  txn.compare.forEach((c, i) => {
    validateCompare(c, `${where}.compare[${i}]`);
    bytes.total += c.key.length + (c.target?.kind === 'value' ? c.target.value.length : 0);
  });
  validateBranch(txn.success, `${where}.success`, bytes, depth);
  validateBranch(txn.failure, `${where}.failure`, bytes, depth);
}

/** Txns nested inside txns at most this deep (etcd has no own bound; this keeps recursion bounded). */
export const TXN_DEPTH_MAX = 16;

/** As in etcd, a branch may not write one key twice (a put per key, no put inside a delete range). */
function validateBranch(ops: readonly RequestOp[], where: string, bytes: { total: number }, depth: number): void {
  ops.forEach((op, i) => {
    const at = `${where}[${i}]`;
    if (op.kind === 'put') validatePut(op.put, `${at}.put`, bytes);
    else if (op.kind === 'delete') validateDelete(op.delete, `${at}.delete`, bytes);
    else if (op.kind === 'range') validateRange(op.range, `${at}.range`);
    else validateTxn(op.txn, bytes, depth + 1, `${at}.txn`);
  });
  const dup = checkIntervals(ops);
  if (dup !== null) throw new InvalidArgumentError(`${where} writes key ${printable(dup)} twice (two puts, or a put inside a delete range, nested txns included)`);
}

/**
 * etcd's checkIntervals: the puts and delete ranges of a branch, nested txns included, returning a
 * key written twice or null. A nested txn's then and else branches may put the same key (only one
 * runs); neither may collide with the enclosing branch's puts and deletes.
 */
function checkIntervals(ops: readonly RequestOp[]): Uint8Array | null {
  return intervals(ops).duplicate;
}

function intervals(ops: readonly RequestOp[]): { puts: Map<string, Uint8Array>; dels: DeleteOp[]; duplicate: Uint8Array | null } {
  const dels: DeleteOp[] = ops.flatMap((op) => (op.kind === 'delete' ? [op.delete] : []));
  const puts = new Map<string, Uint8Array>();
  const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');
  const covered = (k: Uint8Array): boolean => dels.some((d) => deleteCovers(d, k));
  for (const op of ops) {
    if (op.kind !== 'txn') continue;
    const then = intervals(op.txn.success), other = intervals(op.txn.failure);
    const duplicate = then.duplicate ?? other.duplicate;
    if (duplicate !== null) return { puts, dels, duplicate };
    for (const [h, k] of then.puts) {
      if (puts.has(h) || covered(k)) return { puts, dels, duplicate: k };
      puts.set(h, k);
    }
    for (const [h, k] of other.puts) {
      if ((puts.has(h) && !then.puts.has(h)) || covered(k)) return { puts, dels, duplicate: k };
      puts.set(h, k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    if (op.kind !== 'put') continue;
    const h = hex(op.put.key);
    if (puts.has(h) || covered(op.put.key)) return { puts, dels, duplicate: op.put.key };
    puts.set(h, op.put.key);
  }
  return { puts, dels, duplicate: null };
}

function deleteCovers(op: DeleteOp, key: Uint8Array): boolean {
  if (op.fromKey === true) return compareBytes(key, op.key) >= 0;
  if (op.prefix.length > 0) return key.length >= op.prefix.length && bytesEqual(key.subarray(0, op.prefix.length), op.prefix);
  if (op.rangeEnd.length === 0) return bytesEqual(key, op.key);
  return compareBytes(key, op.key) >= 0 && compareBytes(key, op.rangeEnd) < 0;
}

/** A key for an error message: text when it is printable ASCII, else hex; cut at 64 bytes. */
export function printable(key: Uint8Array): string {
  const head = Buffer.from(key.subarray(0, 64));
  const text = /^[\x20-\x7e]*$/.test(head.toString('latin1'));
  const shown = text ? JSON.stringify(head.toString('latin1')) : `0x${head.toString('hex')}`;
  return key.length > 64 ? `${shown}…(${key.length} bytes)` : shown;
}
