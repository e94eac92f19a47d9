/**
 * Turns one key's operations into the compact form the search runs on: register states interned to
 * small integers (0 = absent), each operation reduced to an opcode with integer arguments, and the
 * time-ordered list of call/return events that Wing–Gong's search walks and edits in place.
 */
import type { Operation } from './history.js';
import { isRelevant } from './history.js';
import { pruneIdleUnknownWrites } from './sound-removal.js';

/** Opcodes of the register model; CAS splits by what the client saw. */
export const Opcode = {
  Put: 0,
  Delete: 1,
  Get: 2,
  CasOk: 3,
  CasFailed: 4,
  CasUnknown: 5,
} as const;

export const ABSENT_STATE = 0;
/** Returned by the step function when the operation cannot be linearized from this state. */
export const NO_STATE = -1;

export interface CompiledKey {
  /** Relevant operations (no fails, no unknown reads) before pruning. */
  readonly relevantCount: number;
  /** Operations searched (relevant, minus idle unknown writes), indexed like the arrays below. */
  readonly ops: readonly Operation[];
  readonly opcode: Uint8Array;
  /** put value / cas expected / get output. */
  readonly argA: Int32Array;
  /** cas new value. */
  readonly argB: Int32Array;
  readonly initialState: number;
  /** Event list: node 2i is op i's call, 2i+1 its return; HEAD = 2n is the sentinel. */
  readonly events: EventList;
}

export interface EventList {
  readonly head: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
}

/** The register model: the state after applying op i to `state`, or NO_STATE if impossible. */
export function stepRegister(key: CompiledKey, i: number, state: number): number {
  const a = key.argA[i] as number;
  switch (key.opcode[i]) {
    case Opcode.Put:
      return a;
    case Opcode.Delete:
      return ABSENT_STATE;
    case Opcode.Get:
      return state === a ? state : NO_STATE;
    case Opcode.CasOk:
      return state === a ? (key.argB[i] as number) : NO_STATE;
    case Opcode.CasFailed:
      return state !== a ? state : NO_STATE;
    default:
      // Unknown CAS: its effect follows from the state it meets.
      return state === a ? (key.argB[i] as number) : state;
  }
}

class Interner {
  private readonly ids = new Map<string, number>();
  id(value: string | null): number {
    if (value === null) return ABSENT_STATE;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(value, id);
    }
    return id;
  }
}

function encode(op: Operation, interner: Interner): [number, number, number] {
  switch (op.kind) {
    case 'put':
      return [Opcode.Put, interner.id(op.input), 0];
    case 'delete':
      return [Opcode.Delete, 0, 0];
    case 'get':
      return [Opcode.Get, interner.id(op.output ?? null), 0];
    case 'cas': {
      const code = op.outcome === 'unknown' ? Opcode.CasUnknown : op.output === true ? Opcode.CasOk : Opcode.CasFailed;
      return [code, interner.id(op.input.expected), interner.id(op.input.new)];
    }
  }
}

/** Completion time the search uses: unknown operations stay open forever. */
export function effectiveCompleteMs(op: Operation): number {
  return op.outcome === 'unknown' ? Number.POSITIVE_INFINITY : op.completeMs;
}

/**
 * Orders events by time. At equal times calls come first, so an operation that completes exactly when
 * another starts counts as concurrent with it: the lenient reading, which never invents a violation
 * out of clock granularity.
 */
function buildEvents(ops: readonly Operation[]): EventList {
  const n = ops.length;
  const order = Array.from({ length: 2 * n }, (_, node) => node);
  const time = (node: number): number => {
    const op = ops[node >> 1] as Operation;
    return (node & 1) === 0 ? op.invokeMs : effectiveCompleteMs(op);
  };
  order.sort((x, y) => time(x) - time(y) || (x & 1) - (y & 1) || x - y);
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = head;
  for (const node of order) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  return { head, next, prev };
}

export function compileKey(operations: readonly Operation[], initialValue: string | null = null): CompiledKey {
  const relevant = operations.filter(isRelevant);
  const ops = pruneIdleUnknownWrites(relevant, initialValue);
  const interner = new Interner();
  const initialState = interner.id(initialValue);
  const opcode = new Uint8Array(ops.length);
  const argA = new Int32Array(ops.length);
  const argB = new Int32Array(ops.length);
  ops.forEach((op, i) => {
    const [code, a, b] = encode(op, interner);
    opcode[i] = code;
    argA[i] = a;
    argB[i] = b;
  });
  return { relevantCount: relevant.length, ops, opcode, argA, argB, initialState, events: buildEvents(ops) };
}
