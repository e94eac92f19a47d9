import { CorruptionError } from '../common/errors.js';
import { decodeCommandResult } from './codec.js';
import type { Db, DbOp } from './db.js';
import { NS_DEDUPE, dedupeKey, namespaceBounds } from './keys.js';
import type { CommandResult, RequestId } from './types.js';
import { BinaryReader, BinaryWriter, WireType, putBytes, putUint, readBytes, readFields, readUint } from './wire.js';

interface ClientEntry {
  readonly seq: number;
  readonly index: number;
}

export type DedupeVerdict =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'superseded'; readonly lastSeq: number };

/**
 * The table of remembered request ids: per client, the last applied seq and its result. The records
 * live in the kv db (so they survive restarts and travel in snapshots) and are updated in the same
 * batch as the write they describe. At most `clientsMax` clients are kept; the one whose last write is
 * oldest (lowest raft index) is forgotten first — the same choice on every node.
 */
export class DedupeTable {
  /** clientId -> entry, in order of last write (a Map keeps insertion order; writes re-insert). */
  private readonly clients = new Map<string, ClientEntry>();

  private constructor(private readonly clientsMax: number) {}

  static async load(db: Db, clientsMax: number): Promise<DedupeTable> {
    const table = new DedupeTable(clientsMax);
    const entries: Array<[string, ClientEntry]> = [];
    for await (const [key, value] of db.iterator(namespaceBounds(NS_DEDUPE))) {
      const { seq, index } = decodeRecord(value);
      entries.push([key.subarray(1).toString('utf8'), { seq, index }]);
    }
    entries.sort((a, b) => a[1].index - b[1].index);
    for (const [clientId, entry] of entries) table.clients.set(clientId, entry);
    return table;
  }

  get size(): number {
    return this.clients.size;
  }

  check(id: RequestId): DedupeVerdict {
    const entry = this.clients.get(id.clientId);
    if (entry === undefined || id.seq > entry.seq) return { kind: 'new' };
    if (id.seq === entry.seq) return { kind: 'duplicate' };
    return { kind: 'superseded', lastSeq: entry.seq };
  }

  /** The remembered result of the client's last write (call after check() said 'duplicate'). */
  async result(db: Db, clientId: string, revisionIfInvalid: number): Promise<CommandResult> {
    const value = await db.get(dedupeKey(clientId));
    if (value === undefined) throw new CorruptionError(`dedupe record of client ${JSON.stringify(clientId)} is missing from the kv db`);
    return decodeCommandResult(decodeRecord(value).result, revisionIfInvalid);
  }

  /**
   * The db writes that remember `result` for `id` at raft `index` (evicting the oldest client when
   * full), and a `commit` that updates the in-memory table once those writes are durable.
   */
  record(id: RequestId, index: number, result: Uint8Array): { ops: DbOp[]; commit: () => void; evicted: string | null } {
    const ops: DbOp[] = [{ type: 'put', key: dedupeKey(id.clientId), value: encodeRecord(id.seq, index, result) }];
    let evicted: string | null = null;
    if (!this.clients.has(id.clientId) && this.clients.size >= this.clientsMax) {
      evicted = this.clients.keys().next().value ?? null;
      if (evicted !== null) ops.push({ type: 'del', key: dedupeKey(evicted) });
    }
    const commit = (): void => {
      if (evicted !== null) this.clients.delete(evicted);
      this.clients.delete(id.clientId);
      this.clients.set(id.clientId, { seq: id.seq, index });
    };
    return { ops, commit, evicted };
  }
}

function encodeRecord(seq: number, index: number, result: Uint8Array): Buffer {
  const w = new BinaryWriter();
  putUint(w, 1, seq);
  putUint(w, 2, index);
  putBytes(w, 3, result);
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeRecord(bytes: Uint8Array): { seq: number; index: number; result: Uint8Array } {
  const r = new BinaryReader(bytes);
  let seq = 0, index = 0, result: Uint8Array = new Uint8Array(0);
  readFields(r, r.len, (f, t) => {
    if (f === 1 && t === WireType.Varint) seq = readUint(r);
    else if (f === 2 && t === WireType.Varint) index = readUint(r);
    else if (f === 3 && t === WireType.LengthDelimited) result = readBytes(r);
    else return false;
    return true;
  });
  return { seq, index, result };
}
