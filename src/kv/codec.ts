import { CorruptionError } from '../common/errors.js';
import type {
  CallerStamp,
  Command,
  CommandOp,
  CommandResult,
  CompactOp,
  CompactResult,
  Compare,
  CompareTarget,
  DeleteOp,
  DeleteResult,
  KeyValue,
  LeaseGrantOp,
  LeaseGrantResult,
  LeaseRevokeOp,
  LeaseRevokeResult,
  OpResult,
  PutOp,
  PutResult,
  RangeOp,
  RangeResult,
  RequestId,
  RejectedResult,
  RequestOp,
  TxnOp,
  TxnResult,
} from './types.js';
import { CompareResult, RejectReason } from './types.js';
import { AUTH_COMMAND_FIELD, AUTH_RESULT_FIELD, CALLER_FIELD, readAuthCommand, readAuthResult, readCaller, writeAuthCommand, writeAuthResult, writeCaller } from './auth-wire.js';
import {
  BinaryReader,
  BinaryWriter,
  WireType,
  putBool,
  putBytes,
  putBytesAlways,
  putMessage,
  putString,
  putUint,
  putUintAlways,
  readBytes,
  readFields,
  readNested,
  readUint,
} from './wire.js';

/**
 * Wire-compatible codec for proto/raftkv/v1/command.proto (Command, CommandResult) and KeyValue,
 * written by hand because src/kv may not import src/gen; test/kv/codec.test.ts checks it against the
 * generated code in both directions. Encoding is deterministic (fields in number order).
 */
const LD = WireType.LengthDelimited;
const VI = WireType.Varint;
const EMPTY: Uint8Array = new Uint8Array(0);

export function writeKeyValue(w: BinaryWriter, kv: KeyValue): void {
  putBytes(w, 1, kv.key);
  putBytes(w, 2, kv.value);
  putUint(w, 3, kv.createRevision);
  putUint(w, 4, kv.modRevision);
  putUint(w, 5, kv.version);
  if (kv.lease !== undefined && kv.lease !== 0) putUintAlways(w, 6, kv.lease);
}

export function readKeyValue(r: BinaryReader, end: number): KeyValue {
  let key = EMPTY, value = EMPTY, createRevision = 0, modRevision = 0, version = 0, lease = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) key = readBytes(r);
    else if (f === 2 && t === LD) value = readBytes(r);
    else if (f === 3 && t === VI) createRevision = readUint(r);
    else if (f === 4 && t === VI) modRevision = readUint(r);
    else if (f === 5 && t === VI) version = readUint(r);
    else if (f === 6 && t === VI) lease = readUint(r);
    else return false;
    return true;
  });
  return lease === 0 ? { key, value, createRevision, modRevision, version } : { key, value, createRevision, modRevision, version, lease };
}

export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const w = new BinaryWriter();
  writeKeyValue(w, kv);
  return w.finish();
}

export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  return guard('KeyValue', () => {
    const r = new BinaryReader(bytes);
    return readKeyValue(r, r.len);
  });
}

// ---- requests ----

function writeRequestId(w: BinaryWriter, id: RequestId): void {
  putString(w, 1, id.clientId);
  putUint(w, 2, id.seq);
}

function readRequestId(r: BinaryReader, end: number): RequestId {
  let clientId = '', seq = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) clientId = r.string();
    else if (f === 2 && t === VI) seq = readUint(r);
    else return false;
    return true;
  });
  return { clientId, seq };
}

function writePut(w: BinaryWriter, op: PutOp): void {
  putBytes(w, 1, op.key);
  putBytes(w, 2, op.value);
  putBool(w, 3, op.prevKv);
  // proto3 `optional` fields: written only when set to a non-default value, so a put without a
  // lease encodes exactly as before leases existed.
  if (op.lease !== undefined && op.lease !== 0) putUintAlways(w, 5, op.lease);
  putBool(w, 6, op.ignoreValue === true);
  putBool(w, 7, op.ignoreLease === true);
}

function readPut(r: BinaryReader, end: number): PutOp {
  let key = EMPTY, value = EMPTY, prevKv = false, lease = 0, ignoreValue = false, ignoreLease = false;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) key = readBytes(r);
    else if (f === 2 && t === LD) value = readBytes(r);
    else if (f === 3 && t === VI) prevKv = r.bool();
    else if (f === 5 && t === VI) lease = readUint(r);
    else if (f === 6 && t === VI) ignoreValue = r.bool();
    else if (f === 7 && t === VI) ignoreLease = r.bool();
    else return false;
    return true;
  });
  return {
    key, value, prevKv,
    ...(lease !== 0 ? { lease } : {}),
    ...(ignoreValue ? { ignoreValue } : {}),
    ...(ignoreLease ? { ignoreLease } : {}),
  };
}

function readLeaseGrant(r: BinaryReader, end: number): LeaseGrantOp {
  let id = 0, ttlSeconds = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === VI) id = readUint(r);
    else if (f === 2 && t === VI) ttlSeconds = readUint(r);
    else return false;
    return true;
  });
  return { id, ttlSeconds };
}

function readLeaseRevoke(r: BinaryReader, end: number): LeaseRevokeOp {
  let id = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === VI) id = readUint(r);
    else return false;
    return true;
  });
  return { id };
}

function readCompact(r: BinaryReader, end: number): CompactOp {
  let revision = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === VI) revision = readUint(r);
    else return false;
    return true;
  });
  return { revision };
}

function writeDelete(w: BinaryWriter, op: DeleteOp): void {
  putBytes(w, 1, op.key);
  putBytes(w, 2, op.rangeEnd);
  putBytes(w, 3, op.prefix);
  putBool(w, 4, op.prevKv);
  putBool(w, 6, op.fromKey === true);
}

function readDelete(r: BinaryReader, end: number): DeleteOp {
  let key = EMPTY, rangeEnd = EMPTY, prefix = EMPTY, prevKv = false, fromKey = false;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) key = readBytes(r);
    else if (f === 2 && t === LD) rangeEnd = readBytes(r);
    else if (f === 3 && t === LD) prefix = readBytes(r);
    else if (f === 4 && t === VI) prevKv = r.bool();
    else if (f === 6 && t === VI) fromKey = r.bool();
    else return false;
    return true;
  });
  return { key, rangeEnd, prefix, prevKv, ...(fromKey ? { fromKey } : {}) };
}

function writeRange(w: BinaryWriter, op: RangeOp): void {
  putBytes(w, 1, op.prefix);
  putBytes(w, 2, op.start);
  putBytes(w, 3, op.end);
  putUint(w, 4, op.limit);
  putBytes(w, 5, op.startAfter);
  putBool(w, 6, op.keysOnly);
  putBool(w, 7, op.countOnly);
  if (op.revision !== undefined && op.revision > 0) putUintAlways(w, 9, op.revision);
}

function readRange(r: BinaryReader, end: number): RangeOp {
  let prefix = EMPTY, start = EMPTY, stop = EMPTY, limit = 0, startAfter = EMPTY;
  let keysOnly = false, countOnly = false, revision = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) prefix = readBytes(r);
    else if (f === 2 && t === LD) start = readBytes(r);
    else if (f === 3 && t === LD) stop = readBytes(r);
    else if (f === 4 && t === VI) limit = r.uint32();
    else if (f === 5 && t === LD) startAfter = readBytes(r);
    else if (f === 6 && t === VI) keysOnly = r.bool();
    else if (f === 7 && t === VI) countOnly = r.bool();
    else if (f === 9 && t === VI) revision = readUint(r);
    else return false; // 8 (consistency) concerns the service, not the state machine
    return true;
  });
  const op = { prefix, start, end: stop, limit, startAfter, keysOnly, countOnly };
  return revision > 0 ? { ...op, revision } : op;
}

function writeCompare(w: BinaryWriter, c: Compare): void {
  putBytes(w, 1, c.key);
  putUint(w, 2, c.result);
  const t = c.target;
  if (t === null) return;
  if (t.kind === 'value') putBytesAlways(w, 3, t.value);
  else if (t.kind === 'version') putUintAlways(w, 4, t.version);
  else if (t.kind === 'createRevision') putUintAlways(w, 5, t.createRevision);
  else if (t.kind === 'modRevision') putUintAlways(w, 6, t.modRevision);
  else putUintAlways(w, 7, t.lease);
  if (c.rangeEnd !== undefined) putBytesAlways(w, 8, c.rangeEnd);
}

function toCompareResult(n: number): CompareResult {
  for (const v of Object.values(CompareResult)) if (v === n) return v;
  throw new CorruptionError(`unknown compare result ${n}`);
}

function readCompare(r: BinaryReader, end: number): Compare {
  let key = EMPTY, result: CompareResult = CompareResult.Equal, target: CompareTarget | null = null;
  let rangeEnd: Uint8Array | undefined;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) key = readBytes(r);
    else if (f === 2 && t === VI) result = toCompareResult(r.int32());
    else if (f === 3 && t === LD) target = { kind: 'value', value: readBytes(r) };
    else if (f === 4 && t === VI) target = { kind: 'version', version: readUint(r) };
    else if (f === 5 && t === VI) target = { kind: 'createRevision', createRevision: readUint(r) };
    else if (f === 6 && t === VI) target = { kind: 'modRevision', modRevision: readUint(r) };
    else if (f === 7 && t === VI) target = { kind: 'lease', lease: readUint(r) };
    else if (f === 8 && t === LD) rangeEnd = readBytes(r);
    else return false;
    return true;
  });
  return rangeEnd === undefined ? { key, result, target } : { key, result, target, rangeEnd };
}

function writeRequestOp(w: BinaryWriter, op: RequestOp): void {
  if (op.kind === 'put') putMessage(w, 1, (w) => writePut(w, op.put));
  else if (op.kind === 'delete') putMessage(w, 2, (w) => writeDelete(w, op.delete));
  else if (op.kind === 'range') putMessage(w, 3, (w) => writeRange(w, op.range));
  else putMessage(w, 4, (w) => writeTxn(w, op.txn));
}

function readRequestOp(r: BinaryReader, end: number): RequestOp | null {
  let op: RequestOp | null = null;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) op = { kind: 'put', put: readNested(r, readPut) };
    else if (f === 2 && t === LD) op = { kind: 'delete', delete: readNested(r, readDelete) };
    else if (f === 3 && t === LD) op = { kind: 'range', range: readNested(r, readRange) };
    else if (f === 4 && t === LD) op = { kind: 'txn', txn: readNested(r, readTxn) };
    else return false;
    return true;
  });
  return op;
}

function writeTxn(w: BinaryWriter, txn: TxnOp): void {
  for (const c of txn.compare) putMessage(w, 1, (w) => writeCompare(w, c));
  for (const op of txn.success) putMessage(w, 2, (w) => writeRequestOp(w, op));
  for (const op of txn.failure) putMessage(w, 3, (w) => writeRequestOp(w, op));
}

function readTxn(r: BinaryReader, end: number): TxnOp {
  const compare: Compare[] = [], success: RequestOp[] = [], failure: RequestOp[] = [];
  const requestOp = (): RequestOp => {
    const op = readNested(r, readRequestOp);
    if (op === null) throw new CorruptionError('txn request op has no operation');
    return op;
  };
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) compare.push(readNested(r, readCompare));
    else if (f === 2 && t === LD) success.push(requestOp());
    else if (f === 3 && t === LD) failure.push(requestOp());
    else return false;
    return true;
  });
  return { compare, success, failure };
}

export function encodeCommand(cmd: Command): Uint8Array {
  const w = new BinaryWriter();
  const op = cmd.op;
  if (op?.kind === 'put') putMessage(w, 1, (w) => writePut(w, op.put));
  else if (op?.kind === 'delete') putMessage(w, 2, (w) => writeDelete(w, op.delete));
  else if (op?.kind === 'txn') putMessage(w, 3, (w) => writeTxn(w, op.txn));
  else if (op?.kind === 'leaseGrant') putMessage(w, 5, (w) => (putUint(w, 1, op.leaseGrant.id), putUint(w, 2, op.leaseGrant.ttlSeconds)));
  else if (op?.kind === 'leaseRevoke') putMessage(w, 6, (w) => putUint(w, 1, op.leaseRevoke.id));
  else if (op?.kind === 'compact') putMessage(w, 7, (w) => putUint(w, 1, op.compact.revision));
  const id = cmd.requestId;
  if (id !== null) putMessage(w, 4, (w) => writeRequestId(w, id));
  if (op?.kind === 'auth') writeAuthCommand(w, op.auth);
  if (cmd.caller !== undefined) writeCaller(w, cmd.caller);
  return w.finish();
}

/** Throws CorruptionError on bytes that are not a Command. */
export function decodeCommand(bytes: Uint8Array): Command {
  return guard('Command', () => {
    const r = new BinaryReader(bytes);
    let op: CommandOp | null = null, requestId: RequestId | null = null, caller: CallerStamp | undefined;
    readFields(r, r.len, (f, t) => {
      if (f === 1 && t === LD) op = { kind: 'put', put: readNested(r, readPut) };
      else if (f === 2 && t === LD) op = { kind: 'delete', delete: readNested(r, readDelete) };
      else if (f === 3 && t === LD) op = { kind: 'txn', txn: readNested(r, readTxn) };
      else if (f === 4 && t === LD) requestId = readNested(r, readRequestId);
      else if (f === 5 && t === LD) op = { kind: 'leaseGrant', leaseGrant: readNested(r, readLeaseGrant) };
      else if (f === 6 && t === LD) op = { kind: 'leaseRevoke', leaseRevoke: readNested(r, readLeaseRevoke) };
      else if (f === 7 && t === LD) op = { kind: 'compact', compact: readNested(r, readCompact) };
      else if (f === AUTH_COMMAND_FIELD && t === LD) op = { kind: 'auth', auth: readAuthCommand(r) };
      else if (f === CALLER_FIELD && t === LD) caller = readNested(r, readCaller);
      else return false;
      return true;
    });
    return caller === undefined ? { op, requestId } : { op, requestId, caller };
  });
}

// ---- results ----

function writeHeader(w: BinaryWriter, revision: number): void {
  putMessage(w, 1, (w) => putUint(w, 1, revision));
}

function readHeaderRevision(r: BinaryReader, end: number): number {
  let revision = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === VI) revision = readUint(r);
    else return false;
    return true;
  });
  return revision;
}

/** Inner results of a txn carry no header: they share the txn's revision. */
function writePutResult(w: BinaryWriter, res: PutResult, header: boolean): void {
  if (header) writeHeader(w, res.revision);
  const prev = res.prevKv;
  if (prev !== null) putMessage(w, 2, (w) => writeKeyValue(w, prev));
}

function readPutResult(r: BinaryReader, end: number): PutResult {
  let revision = 0, prevKv: KeyValue | null = null;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === LD) prevKv = readNested(r, readKeyValue);
    else return false;
    return true;
  });
  return { kind: 'put', revision, prevKv };
}

function writeDeleteResult(w: BinaryWriter, res: DeleteResult, header: boolean): void {
  if (header) writeHeader(w, res.revision);
  putUint(w, 2, res.deleted);
  for (const kv of res.prevKvs) putMessage(w, 3, (w) => writeKeyValue(w, kv));
}

function readDeleteResult(r: BinaryReader, end: number): DeleteResult {
  let revision = 0, deleted = 0;
  const prevKvs: KeyValue[] = [];
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === VI) deleted = readUint(r);
    else if (f === 3 && t === LD) prevKvs.push(readNested(r, readKeyValue));
    else return false;
    return true;
  });
  return { kind: 'delete', revision, deleted, prevKvs };
}

function writeRangeResult(w: BinaryWriter, res: RangeResult): void {
  for (const kv of res.kvs) putMessage(w, 2, (w) => writeKeyValue(w, kv));
  putUint(w, 3, res.count);
  putBool(w, 4, res.more);
  putBytes(w, 5, res.nextStartAfter);
}

function readRangeResult(r: BinaryReader, end: number): RangeResult {
  let revision = 0, count = 0, more = false, nextStartAfter = EMPTY;
  const kvs: KeyValue[] = [];
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === LD) kvs.push(readNested(r, readKeyValue));
    else if (f === 3 && t === VI) count = readUint(r);
    else if (f === 4 && t === VI) more = r.bool();
    else if (f === 5 && t === LD) nextStartAfter = readBytes(r);
    else return false;
    return true;
  });
  return { kind: 'range', revision, kvs, count, more, nextStartAfter };
}

function writeOpResult(w: BinaryWriter, res: OpResult): void {
  if (res.kind === 'put') putMessage(w, 1, (w) => writePutResult(w, res, false));
  else if (res.kind === 'delete') putMessage(w, 2, (w) => writeDeleteResult(w, res, false));
  else if (res.kind === 'range') putMessage(w, 3, (w) => writeRangeResult(w, res));
  else putMessage(w, 4, (w) => writeTxnBody(w, res));
}

function readOpResult(r: BinaryReader, end: number, revision: number): OpResult {
  let res: OpResult | null = null;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) res = { ...readNested(r, readPutResult), revision };
    else if (f === 2 && t === LD) res = { ...readNested(r, readDeleteResult), revision };
    else if (f === 3 && t === LD) res = { ...readNested(r, readRangeResult), revision };
    else if (f === 4 && t === LD) res = revised(readNested(r, readTxnResult), revision);
    else return false;
    return true;
  });
  if (res === null) throw new CorruptionError('txn response op has no result');
  return res;
}

/** A nested txn result carries no header: it and everything inside it take the outer revision. */
function revised(res: TxnResult, revision: number): TxnResult {
  return { ...res, revision, responses: res.responses.map((x) => (x.kind === 'txn' ? revised(x, revision) : { ...x, revision })) };
}

function writeTxnResult(w: BinaryWriter, res: TxnResult): void {
  writeHeader(w, res.revision);
  writeTxnBody(w, res);
}

/** A txn result without its header (a nested txn shares the outer one's revision). */
function writeTxnBody(w: BinaryWriter, res: TxnResult): void {
  putBool(w, 2, res.succeeded);
  for (const op of res.responses) putMessage(w, 3, (w) => writeOpResult(w, op));
}

function readTxnResult(r: BinaryReader, end: number): TxnResult {
  let revision = 0, succeeded = false;
  // Inner results are decoded after the header so they can take its revision.
  const inner: Array<[number, number]> = [];
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === VI) succeeded = r.bool();
    else if (f === 3 && t === LD) {
      const length = r.uint32();
      inner.push([r.pos, r.pos + length]);
      r.pos += length;
    } else return false;
    return true;
  });
  const responses = inner.map(([start, stop]) => {
    r.pos = start;
    return readOpResult(r, stop, revision);
  });

  r.pos = end;
  return { kind: 'txn', revision, succeeded, responses };
}

function readLeaseGrantResult(r: BinaryReader, end: number): LeaseGrantResult {
  let revision = 0, id = 0, ttlSeconds = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === VI) id = readUint(r);
    else if (f === 3 && t === VI) ttlSeconds = readUint(r);
    else return false;
    return true;
  });
  return { kind: 'leaseGrant', revision, id, ttlSeconds };
}

function readLeaseRevokeResult(r: BinaryReader, end: number): LeaseRevokeResult {
  let revision = 0, deleted = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === VI) deleted = readUint(r);
    else return false;
    return true;
  });
  return { kind: 'leaseRevoke', revision, deleted };
}

function readCompactResult(r: BinaryReader, end: number): CompactResult {
  let revision = 0, compactRevision = 0;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === VI) compactRevision = readUint(r);
    else return false;
    return true;
  });
  return { kind: 'compact', revision, compactRevision };
}

function toRejectReason(n: number): RejectReason {
  for (const v of Object.values(RejectReason)) if (v === n) return v;
  throw new CorruptionError(`unknown rejection reason ${n}`);
}

function readRejected(r: BinaryReader, end: number): RejectedResult {
  let revision = 0, reason: RejectReason = RejectReason.LeaseNotFound;
  readFields(r, end, (f, t) => {
    if (f === 1 && t === LD) revision = readNested(r, readHeaderRevision);
    else if (f === 2 && t === VI) reason = toRejectReason(r.int32());
    else return false;
    return true;
  });
  return { kind: 'rejected', revision, reason };
}

export function encodeCommandResult(res: CommandResult): Uint8Array {
  const w = new BinaryWriter();
  if (res.kind === 'put') putMessage(w, 1, (w) => writePutResult(w, res, true));
  else if (res.kind === 'delete') putMessage(w, 2, (w) => writeDeleteResult(w, res, true));
  else if (res.kind === 'txn') putMessage(w, 3, (w) => writeTxnResult(w, res));
  else if (res.kind === 'invalid') w.tag(4, LD).string(res.message);
  else if (res.kind === 'leaseGrant') putMessage(w, 5, (w) => (writeHeader(w, res.revision), putUint(w, 2, res.id), putUint(w, 3, res.ttlSeconds)));
  else if (res.kind === 'leaseRevoke') putMessage(w, 6, (w) => (writeHeader(w, res.revision), putUint(w, 2, res.deleted)));
  else if (res.kind === 'auth') writeAuthResult(w, res);
  else if (res.kind === 'rejected') putMessage(w, 7, (w) => (writeHeader(w, res.revision), putUint(w, 2, res.reason)));
  else putMessage(w, 8, (w) => (writeHeader(w, res.revision), putUint(w, 2, res.compactRevision)));
  return w.finish();
}

/** An `invalid` result carries no revision on the wire: it decodes with `revisionIfInvalid`. */
export function decodeCommandResult(bytes: Uint8Array, revisionIfInvalid = 0): CommandResult {
  return guard('CommandResult', () => {
    const r = new BinaryReader(bytes);
    let res: CommandResult | null = null;
    readFields(r, r.len, (f, t) => {
      if (f === 1 && t === LD) res = readNested(r, readPutResult);
      else if (f === 2 && t === LD) res = readNested(r, readDeleteResult);
      else if (f === 3 && t === LD) res = readNested(r, readTxnResult);
      else if (f === 4 && t === LD) res = { kind: 'invalid', revision: revisionIfInvalid, message: r.string() };
      else if (f === 5 && t === LD) res = readNested(r, readLeaseGrantResult);
      else if (f === 6 && t === LD) res = readNested(r, readLeaseRevokeResult);
      else if (f === 7 && t === LD) res = readNested(r, readRejected);
      else if (f === 8 && t === LD) res = readNested(r, readCompactResult);
      else if (f === AUTH_RESULT_FIELD && t === LD) res = readNested(r, readAuthResult);
      else return false;
      return true;
    });
    if (res === null) throw new CorruptionError('command result has no result');
    return res;
  });
}

/** Any failure of the wire reader (truncation, bad varint) becomes a CorruptionError. */
function guard<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof CorruptionError) throw e;
    throw new CorruptionError(`cannot decode ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
