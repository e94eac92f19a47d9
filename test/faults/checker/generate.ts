/**
 * Random histories that are linearizable by construction, to test the checker (and a harness's
 * recording path) against a known answer: each client runs operations one after another; each
 * operation that takes effect gets a linearization point strictly inside its interval (unknown ones:
 * anywhere after invocation); applying them to a sequential register in point order gives the outputs.
 * Every written value is unique, so a read names the one write it saw.
 */
import { SeededRandom } from '../../../src/common/random.js';
import type { Operation, OpKind, Outcome, Value } from './history.js';

export interface GenerateOptions {
  readonly seed: number;
  readonly operationCount: number;
  readonly keys: readonly string[];
  /** Clients running concurrently; each runs its operations sequentially. */
  readonly clientCount: number;
  readonly failRate?: number;
  readonly unknownRate?: number;
  /** Longest operation, in ms (integers; ties between events happen on purpose). */
  readonly durationMsMax?: number;
}

interface Draft {
  readonly id: number;
  readonly clientId: string;
  readonly key: string;
  readonly kind: OpKind;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly outcome: Outcome;
  /** Where it takes effect; null: never. */
  readonly pointMs: number | null;
  readonly value: Value;
  readonly expected: Value | null;
}

const KIND_ORDER: readonly OpKind[] = ['get', 'get', 'get', 'put', 'put', 'cas', 'delete'];

function pick<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

function drafts(options: GenerateOptions, rng: SeededRandom): Draft[] {
  const durationMax = options.durationMsMax ?? 20;
  const clock = new Array<number>(options.clientCount).fill(0);
  const lastWritten = new Map<string, Value>();
  const out: Draft[] = [];
  for (let id = 0; id < options.operationCount; id++) {
    const client = clock.indexOf(Math.min(...clock));
    const invokeMs = (clock[client] as number) + rng.int(3);
    const completeMs = invokeMs + 1 + rng.int(durationMax);
    clock[client] = completeMs;
    const key = pick(rng, options.keys);
    const kind = pick(rng, KIND_ORDER);
    const roll = rng.float();
    const outcome: Outcome = roll < (options.failRate ?? 0) ? 'fail' : roll < (options.failRate ?? 0) + (options.unknownRate ?? 0) ? 'unknown' : 'ok';
    let pointMs: number | null = invokeMs + (0.001 + 0.998 * rng.float()) * (completeMs - invokeMs);
    if (outcome === 'fail' || (outcome === 'unknown' && rng.chance(0.5))) pointMs = null;
    else if (outcome === 'unknown') pointMs = invokeMs + 0.001 + rng.float() * 4 * durationMax;
    const value = `v${id}`;
    const expected = rng.chance(0.8) ? (lastWritten.get(key) ?? null) : null;
    if (kind === 'put' || kind === 'cas') lastWritten.set(key, value);
    out.push({ id, clientId: `c${client}`, key, kind, invokeMs, completeMs, outcome, pointMs, value, expected });
  }
  return out;
}

function finish(d: Draft, state: Map<string, Value | null>, applied: boolean): Operation {
  const base = { id: d.id, clientId: d.clientId, key: d.key, invokeMs: d.invokeMs, completeMs: d.completeMs, outcome: d.outcome };
  const current = state.get(d.key) ?? null;
  switch (d.kind) {
    case 'put':
      if (applied) state.set(d.key, d.value);
      return { ...base, kind: 'put', input: d.value };
    case 'delete':
      if (applied) state.set(d.key, null);
      return { ...base, kind: 'delete' };
    case 'get':
      return d.outcome === 'ok' ? { ...base, kind: 'get', output: current } : { ...base, kind: 'get' };
    case 'cas': {
      const swapped = current === d.expected;
      if (applied && swapped) state.set(d.key, d.value);
      const input = { expected: d.expected, new: d.value };
      return d.outcome === 'ok' ? { ...base, kind: 'cas', input, output: swapped } : { ...base, kind: 'cas', input };
    }
  }
}

/** A linearizable history, ordered by id (= order of invocation per client). */
export function generateLinearizableHistory(options: GenerateOptions): Operation[] {
  const rng = new SeededRandom(options.seed);
  const all = drafts(options, rng);
  const byPoint = all.filter((d) => d.pointMs !== null).sort((a, b) => (a.pointMs as number) - (b.pointMs as number));
  const state = new Map<string, Value | null>();
  const done = new Map<number, Operation>();
  for (const d of byPoint) done.set(d.id, finish(d, state, true));
  // Operations that never took effect: outputs do not matter (fail / unknown), inputs stay as drawn.
  for (const d of all) if (!done.has(d.id)) done.set(d.id, finish(d, new Map(), false));
  return all.map((d) => done.get(d.id) as Operation);
}
