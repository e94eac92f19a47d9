import type { Db, DbOp } from './db.js';
import { decodeStored, encodeStored } from './db.js';
import { compareBytes, dataKey, prefixRange } from './keys.js';
import type { KeyRange } from './keys.js';
import type { KvLimits } from './limits.js';
import { collectPage, rangeBounds } from './range-page.js';
import { readRangeAt, type PendingVersions } from './revision-read.js';
import { countKeys, overlayKey, scan } from './scan.js';
import type { Overlay } from './scan.js';
import type {
  CommandOp,
  CommandResult,
  Compare,
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
  RejectedResult,
  RequestOp,
  TxnOp,
  TxnResult,
  WatchEvent,
} from './types.js';
import { CompareResult, EventType, RejectReason } from './types.js';
import type { LeaseStage } from './leases.js';

/** What applying one command produced: the result, the events, the new revision (writes: in the overlay). */
export interface Execution {
  readonly result: CommandResult;
  readonly events: readonly WatchEvent[];
  readonly revision: number;
  readonly keysDelta: number;
}

type Unrevised<R extends CommandResult | OpResult> = Omit<R, 'revision'>;
const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Executes one validated command against the db plus `overlay` as of `revision`. Writes collect in
 * the overlay, which later operations (of the same txn, or later commands of the same apply batch)
 * read through; nothing touches the db until the caller writes overlayWrites(overlay) in its batch.
 * Every write of a command gets revision + 1 (one revision per command, none when nothing changed),
 * so the outcome depends only on the state and the command.
 */
/** What a txn's reads at a past revision need besides the db: the compacted revision and the batch's own versions. */
export interface HistoryView {
  readonly compactRevision: number;
  readonly pending: PendingVersions;
}

export async function execute(db: Db, overlay: Overlay, leases: LeaseStage, revision: number, op: Exclude<CommandOp, { kind: 'compact' } | { kind: 'auth' }>, limits: KvLimits, history: HistoryView): Promise<Execution> {
  const ex = new Executor(db, overlay, leases, revision, limits, history);
  let partial: Omit<CommandResult, 'revision'>;
  if (op.kind === 'put') partial = (await ex.checkPuts([op.put])) ?? (await ex.put(op.put));
  else if (op.kind === 'delete') partial = await ex.delete(op.delete);
  else if (op.kind === 'txn') partial = await ex.txn(op.txn);
  else if (op.kind === 'leaseGrant') partial = ex.leaseGrant(op.leaseGrant);
  else partial = await ex.leaseRevoke(op.leaseRevoke);
  const after = ex.changed ? revision + 1 : revision;
  const result = withRevision(partial, after);
  return { result, events: ex.events, revision: after, keysDelta: ex.keysDelta };
}

function withRevision(partial: Omit<CommandResult, 'revision'>, revision: number): CommandResult {
  if (partial.kind === 'txn') {
    const txn = partial as Omit<TxnResult, 'revision'>;
    return { ...txn, revision, responses: txn.responses.map((r) => withRevision(r as Omit<CommandResult, 'revision'>, revision) as OpResult) };
  }
  return { ...partial, revision } as CommandResult;
}

class Executor {
  readonly events: WatchEvent[] = [];
  keysDelta = 0;
  changed = false;

  constructor(
    private readonly db: Db,
    private readonly overlay: Overlay,
    private readonly leases: LeaseStage,
    private readonly revision: number,
    private readonly limits: KvLimits,
    private readonly history: HistoryView,
  ) {}

  private get writeRevision(): number {
    return this.revision + 1;
  }

  async get(key: Uint8Array): Promise<KeyValue | null> {
    const o = this.overlay.get(overlayKey(key));
    if (o !== undefined) return o.kv;
    // getSync: a point read of the apply path skips a thread-pool round trip (several times faster).
    const stored = this.db.getSync(dataKey(key));
    return stored === undefined ? null : decodeStored(key, stored);
  }

  /**
   * etcd's checkRequestPut, before any write of the command: a put's lease must exist, and
   * ignore_value / ignore_lease need the key to exist. A refusal leaves the state untouched.
   */
  async checkPuts(ops: readonly PutOp[]): Promise<Unrevised<RejectedResult> | null> {
    for (const op of ops) {
      if (op.lease !== undefined && op.lease !== 0 && this.leases.get(op.lease) === null) return { kind: 'rejected', reason: RejectReason.LeaseNotFound };
      if ((op.ignoreValue === true || op.ignoreLease === true) && (await this.get(op.key)) === null) return { kind: 'rejected', reason: RejectReason.KeyNotFound };
    }
    return null;
  }

  async put(op: PutOp): Promise<Unrevised<PutResult>> {
    const prev = await this.get(op.key);
    const rev = this.writeRevision;
    const lease = op.ignoreLease === true ? (prev?.lease ?? 0) : (op.lease ?? 0);
    const kv: KeyValue = {
      key: op.key,
      value: op.ignoreValue === true && prev !== null ? prev.value : op.value,
      createRevision: prev === null ? rev : prev.createRevision,
      modRevision: rev,
      version: prev === null ? 1 : prev.version + 1,
      ...(lease !== 0 ? { lease } : {}),
    };
    const prevLease = prev?.lease ?? 0;
    if (prevLease !== lease) {
      if (prevLease !== 0) this.leases.detach(prevLease, op.key);
      if (lease !== 0) this.leases.attach(lease, op.key);
    }
    this.overlay.set(overlayKey(op.key), { key: op.key, kv });
    if (prev === null) this.keysDelta++;
    this.events.push({ type: EventType.Put, kv, prevModRevision: prev?.modRevision ?? 0, prevKv: prev });
    this.changed = true;
    return { kind: 'put', prevKv: op.prevKv ? prev : null };
  }

  async delete(op: DeleteOp): Promise<Unrevised<DeleteResult>> {
    const victims = await this.deleteTargets(op);
    this.remove(victims);
    return { kind: 'delete', deleted: victims.length, prevKvs: op.prevKv ? victims : [] };
  }

  /** Deletes existing keys in this command's revision, detaching them from their leases. */
  private remove(victims: readonly KeyValue[]): void {
    const rev = this.writeRevision;
    for (const prev of victims) {
      if (prev.lease !== undefined) this.leases.detach(prev.lease, prev.key);
      this.overlay.set(overlayKey(prev.key), { key: prev.key, kv: null });
      this.keysDelta--;
      const tombstone: KeyValue = { key: prev.key, value: EMPTY, createRevision: 0, modRevision: rev, version: 0 };
      this.events.push({ type: EventType.Delete, kv: tombstone, prevModRevision: prev.modRevision, prevKv: prev });
    }
    if (victims.length > 0) this.changed = true;
  }

  leaseGrant(op: LeaseGrantOp): Unrevised<LeaseGrantResult> | Unrevised<RejectedResult> {
    if (this.leases.get(op.id) !== null) return { kind: 'rejected', reason: RejectReason.LeaseExists };
    this.leases.grant({ id: op.id, ttlSeconds: op.ttlSeconds });
    return { kind: 'leaseGrant', id: op.id, ttlSeconds: op.ttlSeconds };
  }

  /** The lease and all its keys go in ONE revision (none if it had no keys), as etcd's revoke. */
  async leaseRevoke(op: LeaseRevokeOp): Promise<Unrevised<LeaseRevokeResult> | Unrevised<RejectedResult>> {
    if (this.leases.get(op.id) === null) return { kind: 'rejected', reason: RejectReason.LeaseNotFound };
    const victims: KeyValue[] = [];
    for (const key of await this.leases.keysOf(op.id)) {
      const kv = await this.get(key);
      if (kv !== null && kv.lease === op.id) victims.push(kv);
      else this.leases.detach(op.id, key); // a stale attachment must not outlive its lease
    }
    victims.sort((a, b) => compareBytes(a.key, b.key));
    this.remove(victims);
    this.leases.revoke(op.id);
    return { kind: 'leaseRevoke', deleted: victims.length };
  }

  private async deleteTargets(op: DeleteOp): Promise<KeyValue[]> {
    if (op.prefix.length === 0 && op.rangeEnd.length === 0 && op.fromKey !== true) {
      const prev = await this.get(op.key);
      return prev === null ? [] : [prev];
    }
    const range: KeyRange = op.fromKey === true ? { start: op.key, end: null } : op.prefix.length > 0 ? prefixRange(op.prefix) : { start: op.key, end: op.rangeEnd };
    const out: KeyValue[] = [];
    for await (const kv of scan(this.db, this.overlay, { range, after: null })) out.push(kv);
    return out;
  }

  /** At a revision (checked by checkRanges): the keyspace as of then, without this txn's writes, as in etcd. */
  async range(op: RangeOp): Promise<Unrevised<RangeResult>> {
    const at = op.revision ?? 0;
    if (at > 0) return readRangeAt(this.db, undefined, op, at, this.limits, this.history.pending);
    return readRange(this.db, this.overlay, op, this.limits);
  }

  /** etcd's checkRange: a range's revision may not be after the state before the txn, nor compacted. */
  checkRanges(ops: readonly RangeOp[]): Unrevised<RejectedResult> | null {
    for (const op of ops) {
      const at = op.revision ?? 0;
      if (at > this.revision) return { kind: 'rejected', reason: RejectReason.FutureRevision };
      if (at > 0 && at < this.history.compactRevision) return { kind: 'rejected', reason: RejectReason.Compacted };
    }
    return null;
  }

  /** etcd's applyCompare: over a range, every key must satisfy it; no key compares as a missing one. */
  async compare(c: Compare): Promise<boolean> {
    if (c.rangeEnd === undefined) return this.compareKv(c, await this.get(c.key));
    const range: KeyRange = { start: c.key, end: c.rangeEnd.length > 0 ? c.rangeEnd : null };
    let any = false;
    for await (const kv of scan(this.db, this.overlay, { range, after: null })) {
      any = true;
      if (!this.compareKv(c, kv)) return false;
    }
    return any || this.compareKv(c, null);
  }

  private compareKv(c: Compare, kv: KeyValue | null): boolean {
    const t = c.target;
    if (t === null) return false;
    let cmp: number;
    if (t.kind === 'value') {
      if (kv === null) return false; // a missing key has no value to compare
      cmp = compareBytes(kv.value, t.value);
    } else if (t.kind === 'version') cmp = (kv?.version ?? 0) - t.version;
    else if (t.kind === 'createRevision') cmp = (kv?.createRevision ?? 0) - t.createRevision;
    else if (t.kind === 'modRevision') cmp = (kv?.modRevision ?? 0) - t.modRevision;
    else cmp = (kv?.lease ?? 0) - t.lease;
    switch (c.result) {
      case CompareResult.Equal:
        return cmp === 0;
      case CompareResult.NotEqual:
        return cmp !== 0;
      case CompareResult.Less:
        return cmp < 0;
      case CompareResult.Greater:
        return cmp > 0;
    }
  }

  /**
   * etcd's applyTxn: every compare, nested ones included, sees the state before the txn (the path
   * through the nested txns is chosen first); then the puts on that path are checked (a refusal
   * leaves everything untouched) and the chosen branches run in order.
   */
  async txn(txn: TxnOp): Promise<Omit<TxnResult, 'revision'> | Unrevised<RejectedResult>> {
    const path = await this.choosePath(txn);
    const rejected = (await this.checkPuts(opsOnPath(txn, path, 'put'))) ?? this.checkRanges(opsOnPath(txn, path, 'range'));
    if (rejected !== null) return rejected; // the whole txn fails with no partial effect
    return this.runTxn(txn, path);
  }

  private async choosePath(txn: TxnOp): Promise<TxnPath> {
    let succeeded = true;
    for (const c of txn.compare) {
      if (!(await this.compare(c))) {
        succeeded = false;
        break;
      }
    }
    const nested: TxnPath[] = [];
    for (const op of succeeded ? txn.success : txn.failure) if (op.kind === 'txn') nested.push(await this.choosePath(op.txn));
    return { succeeded, nested };
  }

  private async runTxn(txn: TxnOp, path: TxnPath): Promise<Omit<TxnResult, 'revision'>> {
    const responses: OpResult[] = [];
    let n = 0;
    for (const op of path.succeeded ? txn.success : txn.failure) {
      if (op.kind === 'txn') responses.push((await this.runTxn(op.txn, path.nested[n++]!)) as OpResult);
      else responses.push((await this.requestOp(op)) as OpResult);
    }
    return { kind: 'txn', succeeded: path.succeeded, responses };
  }

  private async requestOp(op: Exclude<RequestOp, { kind: 'txn' }>): Promise<Unrevised<OpResult>> {
    if (op.kind === 'put') return this.put(op.put);
    if (op.kind === 'delete') return this.delete(op.delete);
    return this.range(op.range);
  }

}

/** Which branch each txn on the chosen path takes; `nested` follows the txn ops of that branch in order. */
interface TxnPath {
  readonly succeeded: boolean;
  readonly nested: readonly TxnPath[];
}

/** The puts (or ranges) a txn runs on its chosen path, nested txns included. */
function opsOnPath<K extends 'put' | 'range'>(txn: TxnOp, path: TxnPath, kind: K): Array<K extends 'put' ? PutOp : RangeOp> {
  const out: Array<PutOp | RangeOp> = [];
  let n = 0;
  for (const op of path.succeeded ? txn.success : txn.failure) {
    if (op.kind === 'put' && kind === 'put') out.push(op.put);
    else if (op.kind === 'range' && kind === 'range') out.push(op.range);
    else if (op.kind === 'txn') out.push(...opsOnPath(op.txn, path.nested[n++]!, kind));
  }
  return out as Array<K extends 'put' ? PutOp : RangeOp>;
}

/** The db writes that make the overlay's final state durable. */
export function overlayWrites(overlay: Overlay): DbOp[] {
  const out: DbOp[] = [];
  for (const { key, kv } of overlay.values()) {
    if (kv === null) out.push({ type: 'del', key: dataKey(key) });
    else out.push({ type: 'put', key: dataKey(key), value: encodeStored(kv) });
  }
  return out;
}

/** A range read (also used outside commands, with an empty overlay and an explicit snapshot). */
export async function readRange(
  db: Db,
  overlay: Overlay,
  op: RangeOp,
  limits: Pick<KvLimits, 'rangeKvsMax' | 'rangePageBytesMax'>,
  snapshot?: Parameters<typeof scan>[2]['snapshot'],
): Promise<Unrevised<RangeResult>> {
  const { range, after } = rangeBounds(op);
  const opts = snapshot === undefined ? { range, after } : { range, after, snapshot };
  // Inside a txn the overlay's writes count too: read everything through the merging scan.
  if (overlay.size > 0) return collectPage(scan(db, overlay, opts), op, limits);
  // Otherwise the keys beyond the page are only counted: count them as keys, without decoding.
  if (op.countOnly) return { kind: 'range', kvs: [], count: await countKeys(db, opts), more: false, nextStartAfter: EMPTY };
  const page = await collectPage(scan(db, overlay, opts), { ...op, pageOnly: true }, limits);
  if (!page.more || op.pageOnly === true) return page;
  return { ...page, count: page.count + (await countKeys(db, { ...opts, after: page.nextStartAfter })) };
}
