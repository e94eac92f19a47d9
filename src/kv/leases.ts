import { CorruptionError } from '../common/errors.js';
import type { Db, DbOp } from './db.js';
import { readU64, u64 } from './db.js';
import { NS_LEASE, attachBounds, attachKey, leaseIdOf, leaseKey, namespaceBounds } from './keys.js';
import type { LeaseRecord } from './types.js';

/** A change to the set of leases, announced after the batch that made it is written. */
export type LeaseChange =
  | { readonly kind: 'granted'; readonly lease: LeaseRecord }
  | { readonly kind: 'revoked'; readonly id: number }
  /** The whole set was replaced (snapshot restore): `leases` is the new set. */
  | { readonly kind: 'reset'; readonly leases: readonly LeaseRecord[] };

/** Reads every lease record (at open and after a restore). */
export async function loadLeases(db: Db): Promise<Map<number, LeaseRecord>> {
  const out = new Map<number, LeaseRecord>();
  for await (const [key, value] of db.iterator(namespaceBounds(NS_LEASE))) {
    if (key.length !== 9 || value.length !== 8) throw new CorruptionError(`kv db ${db.location} has a malformed lease record`);
    const id = leaseIdOf(key);
    out.set(id, { id, ttlSeconds: readU64(value) });
  }
  return out;
}

/**
 * The lease changes of one apply batch, staged on top of the committed leases: commands later in the
 * batch see earlier ones, nothing reaches the db or memory until the batch is written. Also stages
 * the key → lease attachments, which revoke reads back to find a lease's keys.
 */
export class LeaseStage {
  private readonly leases = new Map<number, LeaseRecord | null>();
  /** Attachment db key (hex) → its state after this batch. */
  private readonly attachments = new Map<string, { readonly lease: number; readonly key: Uint8Array; readonly present: boolean }>();
  private readonly changes: LeaseChange[] = [];

  constructor(
    private readonly db: Db,
    private readonly committed: ReadonlyMap<number, LeaseRecord>,
  ) {}

  /** Nothing about leases changed in this batch (no grant, revoke, attach or detach). */
  isEmpty(): boolean {
    return this.leases.size === 0 && this.attachments.size === 0;
  }

  get(id: number): LeaseRecord | null {
    const staged = this.leases.get(id);
    if (staged !== undefined) return staged;
    return this.committed.get(id) ?? null;
  }

  grant(lease: LeaseRecord): void {
    this.leases.set(lease.id, lease);
    this.changes.push({ kind: 'granted', lease });
  }

  revoke(id: number): void {
    this.leases.set(id, null);
    this.changes.push({ kind: 'revoked', id });
  }

  attach(lease: number, key: Uint8Array): void {
    this.attachments.set(attachKey(lease, key).toString('hex'), { lease, key, present: true });
  }

  detach(lease: number, key: Uint8Array): void {
    this.attachments.set(attachKey(lease, key).toString('hex'), { lease, key, present: false });
  }

  /** The keys attached to lease `id` as of this point of the batch. */
  async keysOf(id: number): Promise<Uint8Array[]> {
    const out = new Map<string, Uint8Array>();
    const prefixLength = 9;
    for await (const dbKey of this.db.keys(attachBounds(id))) out.set(dbKey.toString('hex'), dbKey.subarray(prefixLength));
    for (const [hex, a] of this.attachments) {
      if (a.lease !== id) continue;
      if (a.present) out.set(hex, a.key);
      else out.delete(hex);
    }
    return [...out.values()];
  }

  /** The db writes of this batch's lease changes (records and attachments). */
  writes(): DbOp[] {
    const ops: DbOp[] = [];
    for (const [id, lease] of this.leases) {
      if (lease === null) ops.push({ type: 'del', key: leaseKey(id) });
      else ops.push({ type: 'put', key: leaseKey(id), value: u64(lease.ttlSeconds) });
    }
    for (const a of this.attachments.values()) {
      const key = attachKey(a.lease, a.key);
      ops.push(a.present ? { type: 'put', key, value: Buffer.alloc(0) } : { type: 'del', key });
    }
    return ops;
  }

  /** Applies the staged leases to the committed map (after the write) and returns what changed. */
  commitTo(committed: Map<number, LeaseRecord>): readonly LeaseChange[] {
    for (const [id, lease] of this.leases) {
      if (lease === null) committed.delete(id);
      else committed.set(id, lease);
    }
    return this.changes;
  }
}
