import { assert } from '../common/assert.js';
import { CorruptionError, InvalidArgumentError } from '../common/errors.js';
import { decodeCommand, decodeCommandResult, encodeCommandResult } from './codec.js';
import type { Db, DbOp } from './db.js';
import type { DedupeTable } from './dedupe.js';
import { execute, overlayWrites } from './execute.js';
import type { KvLimits } from './limits.js';
import type { Overlay } from './scan.js';
import { LeaseStage } from './leases.js';
import type { Command, CommandResult, InvalidResult, LeaseRecord, RequestId, WatchEvent } from './types.js';
import { RejectReason } from './types.js';
import type { AuthState } from '../auth/state.js';
import { AuthStage, gateCommand } from './auth-section.js';
import { encodeCursor } from './compaction.js';
import { u64 } from './db.js';
import { historyWrites } from './history-write.js';
import { META_COMPACTED, META_COMPACTING } from './keys.js';
import { validateCommand } from './validate.js';

export interface ApplyBase {
  readonly db: Db;
  readonly revision: number;
  readonly keys: number;
  readonly dedupe: DedupeTable;
  readonly limits: KvLimits;
  readonly leases: ReadonlyMap<number, LeaseRecord>;
  readonly auth: AuthState;
  readonly compactRevision: number;
}

/** Everything one batch of applies must write and announce once the write is done. */
export interface AppliedBatch {
  readonly ops: DbOp[];
  readonly revision: number;
  readonly keys: number;
  /** Events per revision, in order, to publish after the write. */
  readonly published: ReadonlyArray<readonly [number, readonly WatchEvent[]]>;
  /** The batch's lease changes, to commit to memory after the write. */
  readonly leases: LeaseStage;
  /** The batch's auth changes, to keep once the batch is written. */
  readonly auth: AuthStage;
  /** The compacted revision after the batch (a Compact in it raises it). */
  readonly compactRevision: number;
}

/**
 * Applies consecutive committed entries against one overlay so that they become ONE db batch: later
 * entries see earlier ones, and the result equals applying them one by one. The dedupe table is
 * updated as entries go (a retry later in the same batch must be recognised); if the batch write
 * then fails, the store refuses further work, so memory running ahead of disk is never observed.
 */
export class BatchApplier {
  private readonly overlay: Overlay = new Map();
  private readonly leases: LeaseStage;
  private readonly auth: AuthStage;
  private readonly dedupeOps: DbOp[] = [];
  private readonly published: Array<readonly [number, readonly WatchEvent[]]> = [];
  /** Results remembered earlier in this batch, not yet in the db. */
  private readonly pendingResults = new Map<string, Uint8Array>();
  private revision: number;
  private keys: number;
  private compacted: number;

  constructor(private readonly base: ApplyBase) {
    this.revision = base.revision;
    this.keys = base.keys;
    this.compacted = base.compactRevision;
    this.leases = new LeaseStage(base.db, base.leases);
    this.auth = new AuthStage(base.auth);
  }

  async add(index: number, data: Uint8Array): Promise<CommandResult> {
    if (data.length === 0) return this.invalid('empty command');
    let cmd;
    try {
      cmd = decodeCommand(data);
      validateCommand(cmd, this.base.limits);
    } catch (e) {
      if (e instanceof CorruptionError || e instanceof InvalidArgumentError) return this.invalid(e.message);
      throw e;
    }
    const id = cmd.requestId;
    if (id !== null) {
      const verdict = this.base.dedupe.check(id);
      if (verdict.kind === 'duplicate') return this.rememberedFor(id.clientId);
      if (verdict.kind === 'superseded') {
        return this.invalid(`request seq ${id.seq} of client ${JSON.stringify(id.clientId)} is older than its last applied seq ${verdict.lastSeq}`);
      }
    }
    assert(cmd.op !== null, 'validated command has an op');
    const result = await this.run(cmd.op, gateCommand(this.auth.current(), cmd));
    if (id !== null) this.remember(id, index, result);
    return result;
  }

  /** Runs one command that passed validation and dedupe; a command the auth gate refused changes nothing. */
  private async run(op: NonNullable<Command['op']>, refused: RejectReason | null): Promise<CommandResult> {
    if (refused !== null) return { kind: 'rejected', revision: this.revision, reason: refused };
    if (op.kind === 'auth') return this.auth.apply(op.auth, this.revision);
    if (op.kind === 'compact') return this.compact(op.compact.revision);
    const history = { compactRevision: this.compacted, pending: this.published };
    const ex = await execute(this.base.db, this.overlay, this.leases, this.revision, op, this.base.limits, history);
    this.revision = ex.revision;
    this.keys += ex.keysDelta;
    if (ex.events.length > 0) this.published.push([ex.revision, ex.events]);
    return ex.result;
  }

  finish(): AppliedBatch {
    const ops = [...overlayWrites(this.overlay), ...historyWrites(this.published), ...this.leases.writes(), ...this.auth.writes(), ...this.dedupeOps];
    if (this.compacted !== this.base.compactRevision) {
      // The compacted revision and the intent to reclaim below it are durable together.
      ops.push({ type: 'put', key: META_COMPACTED, value: u64(this.compacted) });
      ops.push({ type: 'put', key: META_COMPACTING, value: encodeCursor({ target: this.compacted, after: null }) });
    }
    return { ops, revision: this.revision, keys: this.keys, published: this.published, leases: this.leases, auth: this.auth, compactRevision: this.compacted };
  }

  /** etcd's Compact: refused at or below the compacted revision and above the current one. */
  private compact(revision: number): CommandResult {
    if (revision <= this.compacted) return { kind: 'rejected', revision: this.revision, reason: RejectReason.Compacted };
    if (revision > this.revision) return { kind: 'rejected', revision: this.revision, reason: RejectReason.FutureRevision };
    this.compacted = revision;
    return { kind: 'compact', revision: this.revision, compactRevision: revision };
  }

  private invalid(message: string): InvalidResult {
    return { kind: 'invalid', revision: this.revision, message };
  }

  private async rememberedFor(clientId: string): Promise<CommandResult> {
    const pending = this.pendingResults.get(clientId);
    if (pending !== undefined) return decodeCommandResult(pending, this.revision);
    return this.base.dedupe.result(this.base.db, clientId, this.revision);
  }

  /** Keeps the encoded result for retries; a huge one (big txn reads) becomes a short notice. */
  private remember(id: RequestId, index: number, result: CommandResult): void {
    let bytes = encodeCommandResult(result);
    if (bytes.length > this.base.limits.dedupeResultBytesMax) {
      bytes = encodeCommandResult({
        kind: 'invalid',
        revision: result.revision,
        message: `request seq ${id.seq} of client ${JSON.stringify(id.clientId)} was applied at revision ${result.revision}; its result was too large to remember`,
      });
    }
    const { ops, commit, evicted } = this.base.dedupe.record(id, index, bytes);
    this.dedupeOps.push(...ops); // in order: a later eviction of this client must win
    commit();
    if (evicted !== null) this.pendingResults.delete(evicted);
    this.pendingResults.set(id.clientId, bytes);
  }
}
