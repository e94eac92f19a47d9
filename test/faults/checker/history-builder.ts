/** Terse construction of hand-written histories for tests: times are [invokeMs, completeMs]. */
import type { Operation, Outcome, Value } from './history.js';

type Span = readonly [number, number];

export class HistoryBuilder {
  readonly ops: Operation[] = [];
  private nextId = 1;

  constructor(private readonly key = 'k') {}

  private base(clientId: string, [invokeMs, completeMs]: Span, outcome: Outcome) {
    return { id: this.nextId++, clientId, key: this.key, invokeMs, completeMs, outcome };
  }

  put(clientId: string, value: Value, span: Span, outcome: Outcome = 'ok'): this {
    this.ops.push({ ...this.base(clientId, span, outcome), kind: 'put', input: value });
    return this;
  }

  del(clientId: string, span: Span, outcome: Outcome = 'ok'): this {
    this.ops.push({ ...this.base(clientId, span, outcome), kind: 'delete' });
    return this;
  }

  get(clientId: string, output: Value | null, span: Span, outcome: Outcome = 'ok'): this {
    this.ops.push({ ...this.base(clientId, span, outcome), kind: 'get', output });
    return this;
  }

  cas(clientId: string, expected: Value | null, next: Value, ok: boolean | null, span: Span, outcome: Outcome = 'ok'): this {
    const base = { ...this.base(clientId, span, outcome), kind: 'cas' as const, input: { expected, new: next } };
    this.ops.push(ok === null ? base : { ...base, output: ok });
    return this;
  }
}
