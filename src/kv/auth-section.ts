import { intervalOf, keySuccessor, type KeyInterval } from '../auth/perms.js';
import { AuthState, type AuthStateJson } from '../auth/state.js';
import type { AuthCommand } from '../auth/types.js';
import { CorruptionError } from '../common/errors.js';
import type { Db, DbOp } from './db.js';
import { prefixRange } from './keys.js';
import type { AuthResult, CallerStamp, Command, RequestOp, TxnOp } from './types.js';
import { RejectReason } from './types.js';

/**
 * The auth section of the state machine: the auth state (src/auth) is one record of the kv db
 * (`AUTH_KEY`, JSON), so it changes in the same batch as the data, and every snapshot (all db
 * entries) carries it. Auth commands apply here; client commands pass the apply-time permission gate.
 */
export const AUTH_KEY = Buffer.from('xauth', 'latin1'); // namespace 'x' (src/kv/keys.ts lists the others)

export async function loadAuth(db: Db): Promise<AuthState> {
  const raw = await db.get(AUTH_KEY);
  if (raw === undefined) return AuthState.empty();
  try {
    return AuthState.fromJSON(JSON.parse(raw.toString('utf8')) as AuthStateJson);
  } catch (e) {
    throw new CorruptionError(`kv db ${db.location} has a malformed auth record: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** An auth command that changed the state, announced after its batch is written. */
export type AuthChange = { readonly kind: 'applied'; readonly command: AuthCommand } | { readonly kind: 'reset' };

/** The auth changes of one apply batch, on a copy made at the first auth command of the batch. */
export class AuthStage {
  private draft: AuthState | null = null;
  readonly changes: AuthChange[] = [];

  constructor(private readonly committed: AuthState) {}

  current(): AuthState {
    return this.draft ?? this.committed;
  }

  apply(cmd: AuthCommand, revision: number): AuthResult {
    this.draft ??= this.committed.clone();
    const o = this.draft.apply(cmd);
    if (o.failure === null) this.changes.push({ kind: 'applied', command: cmd });
    return { kind: 'auth', revision, authRevision: o.authRevision, failure: o.failure };
  }

  writes(): DbOp[] {
    return this.draft === null ? [] : [{ type: 'put', key: AUTH_KEY, value: Buffer.from(JSON.stringify(this.draft.toJSON()), 'utf8') }];
  }

  /** The state after this batch (to keep once the batch is written). */
  result(): AuthState {
    return this.current();
  }
}

/**
 * The apply-time permission check, the same on every member: with auth on, a stamped command runs
 * only if its user may do all of it in the auth state of this point of the log. Unstamped commands
 * (the members' own lease expiry) pass.
 */
export function gateCommand(state: AuthState, cmd: Command): RejectReason | null {
  const caller: CallerStamp | undefined = cmd.caller;
  if (!state.enabled || caller === undefined || cmd.op === null) return null;
  // Accepted while auth was off, applied after it was turned on: refused, as etcd's old-revision check.
  if (caller.user === '') return RejectReason.AuthOldRevision;
  if (state.user(caller.user) === null) return RejectReason.PermissionDenied;
  if (state.isRoot(caller.user)) return null;
  const op = cmd.op;
  if (op.kind === 'auth') return op.auth.kind === 'authenticate' ? null : RejectReason.PermissionDenied;
  // Lease grants need only a user; a revoke's keys are checked by the service (etcd does the same).
  if (op.kind === 'leaseGrant' || op.kind === 'leaseRevoke') return null;
  // Compaction touches no key's current value: like etcd, any authenticated user may compact.
  if (op.kind === 'compact') return null;
  const needs: Array<['read' | 'write', KeyInterval]> = [];
  if (op.kind === 'put') needs.push(['write', single(op.put.key)]);
  else if (op.kind === 'delete') needs.push(['write', deleteInterval(op.delete)]);
  else txnNeeds(op.txn, needs);
  for (const [want, iv] of needs) if (!state.permitted(caller.user, want, iv)) return RejectReason.PermissionDenied;
  return null;
}

const single = (key: Uint8Array): KeyInterval => ({ start: key, end: keySuccessor(key) });

function deleteInterval(d: { key: Uint8Array; rangeEnd: Uint8Array; prefix: Uint8Array; fromKey?: boolean }): KeyInterval {
  if (d.fromKey === true) return { start: d.key, end: null };
  if (d.prefix.length > 0) return prefixRange(d.prefix);
  return d.rangeEnd.length === 0 ? single(d.key) : { start: d.key, end: d.rangeEnd };
}

/** etcd's checkTxnAuth: compares need read, and every op of both branches what it does. */
function txnNeeds(txn: TxnOp, out: Array<['read' | 'write', KeyInterval]>): void {
  for (const c of txn.compare) out.push(['read', c.rangeEnd === undefined ? single(c.key) : intervalOf(c.key, c.rangeEnd.length === 0 ? Uint8Array.of(0) : c.rangeEnd)]);
  const opNeeds = (op: RequestOp): void => {
    if (op.kind === 'put') out.push(['write', single(op.put.key)]);
    else if (op.kind === 'delete') out.push(['write', deleteInterval(op.delete)]);
    else if (op.kind === 'range') {
      const r = op.range;
      out.push(['read', r.prefix.length > 0 ? prefixRange(r.prefix) : { start: r.start, end: r.end.length > 0 ? r.end : null }]);
    } else txnNeeds(op.txn, out);
  };
  for (const op of txn.success) opNeeds(op);
  for (const op of txn.failure) opNeeds(op);
}
