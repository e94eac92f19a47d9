/**
 * Clients of the fault runs: each performs random operations (put, linearizable get, CAS as a txn,
 * delete) on a few keys, each through a randomly chosen node, one at a time, and records every
 * operation's invocation and completion (performance.now()) with its outcome:
 *  - ok: the node answered; a CAS whose compare failed is ok with output false;
 *  - fail: certainly not applied (the request was refused before it could be proposed, or the
 *    connection was never made);
 *  - unknown: anything else (deadline, lost connection, leadership lost mid-flight).
 * Every written value is unique (`c<client>-<seq>`), so the checker can tell writes apart.
 */
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { Random } from '../../src/common/random.js';
import { Compare_Result, Consistency, KVClient } from '../../src/gen/raftkv/v1/kv.js';
import type { Operation, Value } from './checker/index.js';
import { unary } from './cluster.js';

/** Error codes (trailing metadata `raftkv-error-code`) after which a request was never proposed. */
const NEVER_PROPOSED = new Set(['INVALID_ARGUMENT', 'NOT_LEADER', 'NO_LEADER', 'TRANSFER_IN_PROGRESS']);
const ERROR_CODE_HEADER = 'raftkv-error-code';

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: readonly string[];
  readonly grpcAddrs: ReadonlyMap<number, string>;
  readonly opTimeoutMs: number;
  /** Pause between one client's operations, up to this many ms (keeps 2 shared cores breathing). */
  readonly thinkMsMax: number;
  readonly random: Random;
  /** Where each operation goes; by default a uniformly random node. */
  readonly pickNode?: (kind: Operation['kind'], random: Random) => number;
  /** How clients dial the nodes; plaintext by default. */
  readonly credentials?: ChannelCredentials;
}

type Kind = Operation['kind'];
const b = (s: string): Buffer => Buffer.from(s);

export class Workload {
  readonly history: Operation[] = [];
  private nextId = 1;
  private readonly kv = new Map<number, KVClient>();
  private readonly ids: number[];

  constructor(private readonly o: WorkloadOptions) {
    for (const [id, addr] of o.grpcAddrs) this.kv.set(id, new KVClient(addr, o.credentials ?? credentials.createInsecure()));
    this.ids = [...o.grpcAddrs.keys()];
  }

  /** Runs every client until `signal` aborts; resolves when all in-flight operations finished. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.client(c, signal)));
  }

  private async client(clientId: number, signal: AbortSignal): Promise<void> {
    const r = this.o.random;
    const lastSeen = new Map<string, Value | null>();
    let seq = 0;
    while (!signal.aborted) {
      const key = this.o.keys[r.int(this.o.keys.length)]!;
      const roll = r.float();
      const kind: Kind = roll < 0.4 ? 'get' : roll < 0.65 ? 'put' : roll < 0.9 ? 'cas' : 'delete';
      const node = this.o.pickNode ? this.o.pickNode(kind, r) : this.ids[r.int(this.ids.length)]!;
      const value = `c${clientId}-${++seq}`;
      const expected = r.float() < 0.15 ? null : (lastSeen.get(key) ?? null);
      const op = await this.perform(clientId, node, kind, key, value, expected);
      if (op.outcome === 'ok') {
        if (op.kind === 'get') lastSeen.set(key, op.output ?? null);
        else if (op.kind === 'put') lastSeen.set(key, op.input);
        else if (op.kind === 'delete') lastSeen.set(key, null);
        else if (op.output === true) lastSeen.set(key, op.input.new);
      }
      if (this.o.thinkMsMax > 0) await new Promise((res) => setTimeout(res, r.int(this.o.thinkMsMax)));
    }
  }

  /** One operation through one node; also used for the final reads. */
  async perform(clientId: number | string, node: number, kind: Kind, key: string, value: Value, expected: Value | null): Promise<Operation> {
    const c = this.kv.get(node)!;
    const id = this.nextId++;
    const note = `n${node}`;
    const md = new Metadata();
    const opt = { deadline: Date.now() + this.o.opTimeoutMs };
    const invokeMs = performance.now();
    const common = { id, clientId, key, invokeMs } as const;
    let op: Operation;
    try {
      switch (kind) {
        case 'get': {
          const res = await unary<{ kv?: { value: Buffer } | undefined }>((cb) => c.get({ key: b(key), consistency: Consistency.CONSISTENCY_LINEARIZABLE }, md, opt, cb));
          op = { ...common, kind, completeMs: performance.now(), outcome: 'ok', output: res.kv ? res.kv.value.toString() : null, note };
          break;
        }
        case 'put':
          await unary((cb) => c.put({ key: b(key), value: b(value), prevKv: false }, md, opt, cb));
          op = { ...common, kind, input: value, completeMs: performance.now(), outcome: 'ok', note };
          break;
        case 'delete':
          await unary((cb) => c.delete({ key: b(key), rangeEnd: Buffer.alloc(0), prefix: Buffer.alloc(0), prevKv: false, fromKey: false }, md, opt, cb));
          op = { ...common, kind, completeMs: performance.now(), outcome: 'ok', note };
          break;
        case 'cas': {
          const compare =
            expected === null
              ? { key: b(key), result: Compare_Result.EQUAL, target: { $case: 'version' as const, version: 0 } }
              : { key: b(key), result: Compare_Result.EQUAL, target: { $case: 'value' as const, value: b(expected) } };
          const success = [{ request: { $case: 'put' as const, put: { key: b(key), value: b(value), prevKv: false } } }];
          const res = await unary<{ succeeded: boolean }>((cb) => c.txn({ compare: [compare], success, failure: [] }, md, opt, cb));
          op = { ...common, kind, input: { expected, new: value }, completeMs: performance.now(), outcome: 'ok', output: res.succeeded, note };
          break;
        }
      }
    } catch (e) {
      const err = e as ServiceError;
      const outcome = definitelyNotApplied(err) ? 'fail' : 'unknown';
      const why = `${note} ${status[err.code] ?? err.code} ${String(err.metadata?.get(ERROR_CODE_HEADER)[0] ?? '')}`.trim();
      const completeMs = performance.now();
      if (kind === 'get') op = { ...common, kind, completeMs, outcome, note: why };
      else if (kind === 'put') op = { ...common, kind, input: value, completeMs, outcome, note: why };
      else if (kind === 'delete') op = { ...common, kind, completeMs, outcome, note: why };
      else op = { ...common, kind, input: { expected, new: value }, completeMs, outcome, note: why };
    }
    this.history.push(op);
    return op;
  }

  close(): void {
    for (const c of this.kv.values()) c.close();
  }
}

export function definitelyNotApplied(err: ServiceError): boolean {
  const code = err.metadata?.get(ERROR_CODE_HEADER)[0];
  if (typeof code === 'string') return NEVER_PROPOSED.has(code);
  if (err.code === status.INVALID_ARGUMENT) return true;
  // The connection to the node was never made: the request never left this process.
  return err.code === status.UNAVAILABLE && /ECONNREFUSED|No connection established/.test(err.details ?? '');
}
