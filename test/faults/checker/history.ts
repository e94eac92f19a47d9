/**
 * The history model that fault-run clients record and the linearizability checker reads.
 *
 * One entry per client operation on one key. `outcome` says what the client knows:
 *  - 'ok': the operation took effect, between `invokeMs` and `completeMs`, with the recorded output;
 *  - 'fail': it definitely did not take effect (the checker drops it);
 *  - 'unknown': timeout or lost connection; it may take effect at any time after `invokeMs`, even after
 *    the client gave up, so the checker treats its completion as +infinity and its output as free.
 */
import { ErrorCode, RaftkvError } from '../../../src/common/errors.js';

export type Value = string;
export type OpKind = 'put' | 'get' | 'cas' | 'delete';
export type Outcome = 'ok' | 'fail' | 'unknown';

interface OperationCommon {
  readonly id: number;
  readonly clientId: string | number;
  readonly key: string;
  readonly invokeMs: number;
  /** When the reply arrived (ok/fail) or the client gave up (unknown: for display only). */
  readonly completeMs: number;
  readonly outcome: Outcome;
  /** Free text for humans (endpoint, error code); shown in timeline hover titles. */
  readonly note?: string;
}

export interface PutOperation extends OperationCommon {
  readonly kind: 'put';
  readonly input: Value;
}

export interface DeleteOperation extends OperationCommon {
  readonly kind: 'delete';
}

export interface GetOperation extends OperationCommon {
  readonly kind: 'get';
  /** The value read, null when the key was absent. Required when outcome is 'ok'. */
  readonly output?: Value | null;
}

export interface CasInput {
  /** null: succeed only if the key is absent. */
  readonly expected: Value | null;
  readonly new: Value;
}

export interface CasOperation extends OperationCommon {
  readonly kind: 'cas';
  readonly input: CasInput;
  /** Whether the compare matched and the swap happened. Required when outcome is 'ok'. */
  readonly output?: boolean;
}

export type Operation = PutOperation | DeleteOperation | GetOperation | CasOperation;

/** A fault the nemesis injected, for the timeline; `endMs` null means still active at the end. */
export interface FaultInterval {
  readonly kind: string;
  readonly startMs: number;
  readonly endMs: number | null;
  readonly nodes?: readonly string[];
  readonly note?: string;
}

export class InvalidHistoryError extends RaftkvError {
  override readonly name = 'InvalidHistoryError';
  constructor(
    readonly operationId: number | null,
    message: string,
  ) {
    super(ErrorCode.InvalidArgument, operationId === null ? message : `operation ${operationId}: ${message}`);
  }
}

const KINDS: ReadonlySet<string> = new Set(['put', 'get', 'cas', 'delete']);
const OUTCOMES: ReadonlySet<string> = new Set(['ok', 'fail', 'unknown']);

function isValueOrNull(v: unknown): v is Value | null {
  return v === null || typeof v === 'string';
}

/** Checks one operation's shape; a recorder bug must surface here, not as a bogus verdict. */
export function validateOperation(op: Operation): void {
  const fail = (msg: string): never => {
    throw new InvalidHistoryError(op.id, msg);
  };
  if (!Number.isSafeInteger(op.id)) fail('id must be a safe integer');
  if (typeof op.key !== 'string') fail('key must be a string');
  if (!KINDS.has(op.kind)) fail(`unknown kind ${String(op.kind)}`);
  if (!OUTCOMES.has(op.outcome)) fail(`unknown outcome ${String(op.outcome)}`);
  if (!Number.isFinite(op.invokeMs)) fail('invokeMs must be finite');
  if (op.outcome !== 'unknown' && !(op.completeMs >= op.invokeMs)) fail('completeMs must be >= invokeMs');
  if (op.kind === 'put' && typeof op.input !== 'string') fail('put input must be a string value');
  if (op.kind === 'cas') {
    if (typeof op.input !== 'object' || op.input === null) fail('cas input must be { expected, new }');
    if (!isValueOrNull(op.input.expected) || typeof op.input.new !== 'string') fail('cas input has bad types');
    if (op.outcome === 'ok' && typeof op.output !== 'boolean') fail('ok cas needs a boolean output');
  }
  if (op.kind === 'get' && op.outcome === 'ok' && !isValueOrNull(op.output)) fail('ok get needs output value or null');
}

/** Validates every operation and that ids are unique. */
export function validateHistory(history: readonly Operation[]): void {
  const ids = new Set<number>();
  for (const op of history) {
    validateOperation(op);
    if (ids.has(op.id)) throw new InvalidHistoryError(op.id, 'duplicate id');
    ids.add(op.id);
  }
}

/** Whether an operation can influence the verdict: fails never took effect, unknown reads say nothing. */
export function isRelevant(op: Operation): boolean {
  if (op.outcome === 'fail') return false;
  return !(op.kind === 'get' && op.outcome === 'unknown');
}

/** P-compositionality: a history is linearizable iff each key's sub-history is. Keeps input order. */
export function partitionByKey(history: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }
  return byKey;
}

/** A short human label: `put k=v`, `get k→v`, `cas k v1→v2 ✓`. */
export function describeOperation(op: Operation): string {
  const show = (v: Value | null | undefined): string => (v === null ? '∅' : v === undefined ? '?' : JSON.stringify(v));
  switch (op.kind) {
    case 'put':
      return `put ${op.key}=${show(op.input)}`;
    case 'delete':
      return `delete ${op.key}`;
    case 'get':
      return `get ${op.key}→${op.outcome === 'ok' ? show(op.output) : '?'}`;
    case 'cas': {
      const result = op.outcome === 'ok' ? (op.output === true ? ' ✓' : ' ✗') : ' ?';
      return `cas ${op.key} ${show(op.input.expected)}→${show(op.input.new)}${result}`;
    }
  }
}
