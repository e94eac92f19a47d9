import { isRaftkvError } from '../../../src/common/errors.js';
import type { SeededRandom } from '../../../src/common/random.js';
import { LeadershipLostError } from '../../../src/node/waiters.js';
import type { Operation } from '../../faults/checker/history.js';
import type { CommandResult } from '../../../src/kv/types.js';
import { commandId, encodeKvCommand, resultOk, type KvCommand } from './kv-machine.js';
import type { SimHost } from './host.js';
import type { VirtualScheduler } from './scheduler.js';

export const KEYS = ['a', 'b', 'c'];
/** A client gives up on a request after this long (virtual ms): its outcome is then unknown. */
const REQUEST_TIMEOUT_MS = 600;

export interface ClientEnv {
  readonly sched: VirtualScheduler;
  readonly hosts: () => SimHost[];
  readonly rng: SeededRandom;
  readonly onAck: (index: number, command: string) => void;
  /** Broken mode: linearizable gets read the local state without a read fence. */
  readonly skipReadFence: boolean;
  /** An error no client should ever see (not a RaftkvError): the world records a violation. */
  readonly onError: (err: unknown) => void;
  /** Every completed operation, for the trace. */
  readonly onRecord: (op: Operation) => void;
}

type Kind = 'put' | 'cas' | 'delete' | 'get' | 'stale-get';

/**
 * Simulated clients: each issues put, delete, CAS, linearizable get and stale get through the
 * driver's propose/readIndex path (what the gRPC handlers call), with a deadline, and records a
 * history for the linearizability checker. Stale gets are served but not part of the history.
 */
export class SimClients {
  readonly history: Operation[] = [];
  readonly counts = { ok: 0, fail: 0, unknown: 0, staleGets: 0 };
  private opId = 0;
  private valueSeq = 0;
  /** Writes awaiting their outcome: at the end they enter the history as unknown (they may apply). */
  private readonly inFlight = new Map<number, () => Operation>();
  private stopped = false;

  constructor(private readonly env: ClientEnv) {}

  start(clients: number): void {
    for (let c = 1; c <= clients; c++) void this.loop(c);
  }

  /** Stop issuing; writes still in flight are recorded as unknown, later outcomes are ignored. */
  stop(): void {
    for (const unknown of this.inFlight.values()) this.record(unknown());
    this.inFlight.clear();
    this.stopped = true;
  }

  private async loop(client: number): Promise<void> {
    let preferred = 0;
    while (!this.stopped) {
      await this.env.sched.sleep(5 + this.env.rng.int(40));
      if (this.stopped) return;
      preferred = await this.one(client, preferred).catch((e: unknown) => {
        this.env.onError(e);
        return 0;
      });
    }
  }

  /** Runs one operation; returns the node to try next (the leader a refusal named). */
  private async one(client: number, preferred: number): Promise<number> {
    const { rng } = this.env;
    const up = this.env.hosts().filter((h) => h.serving);
    if (up.length === 0) return 0;
    const kinds: Kind[] = ['put', 'put', 'cas', 'delete', 'get', 'get', 'stale-get'];
    const kind = kinds[rng.int(kinds.length)]!;
    const key = KEYS[rng.int(KEYS.length)]!;
    const host = kind === 'get' || kind === 'stale-get' ? up[rng.int(up.length)]! : (up.find((h) => h.id === preferred) ?? up[rng.int(up.length)]!);
    if (kind === 'stale-get') {
      await host.kv!.get(key);
      this.counts.staleGets++;
      return preferred;
    }
    if (kind === 'get') return this.get(client, host, key, preferred);
    return this.write(client, host, kind, key);
  }

  private async get(client: number, host: SimHost, key: string, preferred: number): Promise<number> {
    const invokeMs = this.env.sched.nowMs;
    const base = { id: ++this.opId, clientId: client, key, invokeMs, kind: 'get' as const };
    const inc = host.inc;
    if (this.env.skipReadFence) {
      this.record({ ...base, completeMs: invokeMs, outcome: 'ok', output: await host.kv!.get(key) });
      return preferred;
    }
    const ac = this.deadline();
    try {
      await host.driver!.readIndex(ac.signal);
      const kv = host.inc === inc ? host.kv : null;
      const output = kv === null ? undefined : await kv.get(key);
      // The node died before the read answered: no answer reaches the client.
      if (output === undefined || host.inc !== inc) this.record({ ...base, completeMs: this.env.sched.nowMs, outcome: 'fail' });
      else this.record({ ...base, completeMs: this.env.sched.nowMs, outcome: 'ok', output, note: `n${host.id}` });
    } catch (e) {
      if (!isRaftkvError(e)) throw e;
      this.record({ ...base, completeMs: this.env.sched.nowMs, outcome: 'fail', note: e.code });
    }
    return preferred;
  }

  private async write(client: number, host: SimHost, kind: 'put' | 'cas' | 'delete', key: string): Promise<number> {
    const value = `v${++this.valueSeq}`;
    const cmd: KvCommand = kind === 'put' ? { op: 'put', key, value } : kind === 'delete' ? { op: 'del', key } : { op: 'cas', key, expect: this.guess(key), value };
    const bytes = encodeKvCommand(cmd);
    const invokeMs = this.env.sched.nowMs;
    const base = { id: ++this.opId, clientId: client, key, invokeMs };
    const op = (outcome: Operation['outcome'], extra: { output?: boolean; note?: string } = {}): Operation => {
      const common = { ...base, completeMs: this.env.sched.nowMs, outcome, ...(extra.note ? { note: extra.note } : {}) };
      if (cmd.op === 'put') return { ...common, kind: 'put', input: value };
      if (cmd.op === 'del') return { ...common, kind: 'delete' };
      return { ...common, kind: 'cas', input: { expected: cmd.expect, new: value }, ...(extra.output !== undefined ? { output: extra.output } : {}) };
    };
    let pending: Promise<{ index: number; result: unknown }>;
    try {
      pending = host.driver!.propose(bytes, this.deadline().signal);
    } catch (e) {
      // Refused before it reached the log: it never takes effect.
      if (!isRaftkvError(e)) throw e;
      this.record(op('fail', { note: e.code }));
      const lead = host.driver?.leader()?.id;
      return lead ?? 0;
    }
    this.inFlight.set(base.id, () => op('unknown', { note: 'in flight at the end' }));
    try {
      const { index, result } = await pending;
      this.env.onAck(index, commandId(bytes));
      this.record(op('ok', { output: resultOk(result as CommandResult), note: `n${host.id}@${index}` }), base.id);
    } catch (e) {
      if (!isRaftkvError(e)) throw e;
      // Another leader's entry took the index: the proposal can never apply. Anything else
      // (deadline, snapshot overtaking it) leaves the outcome unknown.
      this.record(op(e instanceof LeadershipLostError ? 'fail' : 'unknown', { note: e.code }), base.id);
    }
    return host.id;
  }

  /** CAS expects the last value this history wrote to the key (often stale: both outcomes occur). */
  private guess(key: string): string | null {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const o = this.history[i]!;
      if (o.key !== key) continue;
      if (o.kind === 'put') return o.input;
      if (o.kind === 'cas') return o.input.new;
      if (o.kind === 'delete') return null;
    }
    return null;
  }

  private deadline(): AbortController {
    const ac = new AbortController();
    this.env.sched.schedule(REQUEST_TIMEOUT_MS, () => ac.abort(new Error('client deadline')));
    return ac;
  }

  private record(op: Operation, inFlightId?: number): void {
    if (this.stopped) return;
    if (inFlightId !== undefined) this.inFlight.delete(inFlightId);
    this.history.push(op);
    this.counts[op.outcome]++;
    this.env.onRecord(op);
  }
}
