import { CorruptionError, isRaftkvError } from '../../../src/common/errors.js';
import { SeededRandom } from '../../../src/common/random.js';
import { encodeMemberContext } from '../../../src/node/address-book.js';
import type { BrokenRules } from '../../../src/raft/config.js';
import { ConfChangeType, roleName, type ConfChange, type NodeId } from '../../../src/raft/types.js';
import { MemoryNetwork } from '../../../src/transport/raft/memory-network.js';
import { checkHistory } from '../../faults/checker/check.js';
import type { Operation } from '../../faults/checker/history.js';
import { Trace } from '../trace.js';
import { SimClients } from './clients.js';
import { SimLeaseClients } from './lease-clients.js';
import { SimWatchClients } from './watch-clients.js';
import { SimulatedWriteError } from './disk.js';
import { SimHost, type HostEnv } from './host.js';
import { encodeKvCommand } from './kv-machine.js';
import { NodeChecker } from './node-checker.js';
import { VirtualScheduler } from './scheduler.js';

/** Deliberately broken modes: each must make a check fail (test/sim/node/broken.test.ts). */
export type NodeBrokenMode = (typeof WORLD_BROKEN_MODES)[number] | keyof BrokenRules;
export const WORLD_BROKEN_MODES = ['ignoreSync', 'divergentReplica', 'readWithoutFence', 'resealFlips', 'leaseNoPromote', 'watchSkipsRevision'] as const;
/** After the lease clients stop, every lease must have ended within this many virtual ms. */
const LEASES_END_MS_MAX = 6_000;

export interface NodeSimOptions {
  readonly seed: number;
  readonly nodes: 3 | 5;
  /** Virtual ms of faults and client load, then recovery. */
  readonly faultMs: number;
  /** After healing, a write must apply on every member within this many virtual ms. */
  readonly recoveryMsMax: number;
  readonly broken?: NodeBrokenMode | undefined;
  /** Trace lines a result keeps (the newest); a replay asks for many. Default 80. */
  readonly traceLines?: number | undefined;
}

export interface NodeSimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly violations: string[];
  readonly trace: string[];
  readonly stats: Record<string, number>;
}

const FAULT_STEP_MS = 50;

/** A cluster of SimHosts on one virtual scheduler and memory network, with faults and clients. */
export class NodeWorld {
  readonly sched = new VirtualScheduler();
  readonly rng: SeededRandom;
  private readonly faultRng: SeededRandom;
  readonly network: MemoryNetwork;
  readonly checker = new NodeChecker();
  readonly trace: Trace;
  readonly hosts = new Map<NodeId, SimHost>();
  readonly clients: SimClients;
  readonly leaseClients: SimLeaseClients;
  readonly watchClients: SimWatchClients;
  private readonly env: HostEnv;
  private nextId: number;
  private healAtMs = 0;
  private faultsOn = true;
  readonly stats = { crashes: 0, restarts: 0, corruptReadsCaught: 0, writeFailuresStopped: 0, partitions: 0, confChanges: 0, transfers: 0, leaders: 0, lostDiskWrites: 0, ops: 0, unknownOps: 0 };

  constructor(readonly options: NodeSimOptions) {
    this.trace = new Trace(Math.max(300, options.traceLines ?? 80));
    this.rng = new SeededRandom(options.seed);
    this.faultRng = this.rng.fork();
    this.network = new MemoryNetwork(this.rng.fork(), this.sched);
    this.network.faults.dropRate = this.faultRng.float() * 0.05;
    this.network.faults.duplicateRate = this.faultRng.float() * 0.03;
    const delayMax = 1 + this.faultRng.int(15);
    this.network.faults.delayMs = (_f, _t, r) => 1 + r.int(delayMax);
    this.checker.now = () => this.sched.nowMs;
    const broken = options.broken;
    this.env = {
      sched: this.sched,
      network: this.network,
      diskFaults: {
        writeLatencyMsMax: 1 + this.faultRng.int(5),
        ignoreSync: broken === 'ignoreSync',
        resealFlips: broken === 'resealFlips',
        writeErrorRate: this.faultRng.chance(0.3) ? 0.002 : 0,
      },
      observer: {
        onApplied: (node, index, command, result) => this.checker.onApplied(node, index, command, result),
        onState: (node, index, hash) => this.checker.onState(node, index, hash),
        onRestored: (node, index) => this.event(`n${node} restored its state machine from a snapshot at index ${index}`),
      },
      onLeader: (h, l) => {
        if (l?.isSelf) this.onLeader(h, l.term);
      },
      onFatal: (h, err) => this.onFatal(h, err),
      broken: broken && !(WORLD_BROKEN_MODES as readonly string[]).includes(broken) ? ({ [broken]: true } as BrokenRules) : undefined,
      divergeNode: broken === 'divergentReplica' ? 1 : undefined,
      leaseNoPromote: broken === 'leaseNoPromote',
      // Most seeds compact (keeping 5 to 200 revisions): compaction runs under faults and bounds snapshots.
      compactRetention: this.faultRng.chance(0.8) ? 5 + this.faultRng.int(196) : undefined,
    };
    this.clients = new SimClients({
      sched: this.sched,
      hosts: () => [...this.hosts.values()],
      rng: this.rng.fork(),
      onAck: (index, command) => this.checker.onAck(index, command),
      skipReadFence: broken === 'readWithoutFence',
      onError: (e) => this.checker.fail(`client saw an unexpected error: ${errText(e)}`),
      onRecord: (op) => this.event(`c${op.clientId} ${describeOp(op)}`),
    });
    this.leaseClients = new SimLeaseClients({
      sched: this.sched,
      hosts: () => [...this.hosts.values()],
      rng: this.rng.fork(),
      onEvent: (text) => this.event(text),
      onError: (e) => this.checker.fail(`lease client saw an unexpected error: ${errText(e)}`),
    });
    this.watchClients = new SimWatchClients({
      sched: this.sched,
      hosts: () => [...this.hosts.values()],
      rng: this.rng.fork(),
      onEvent: (text) => this.event(text),
      onViolation: (text) => this.checker.fail(text),
      skipRevisionOn: broken === 'watchSkipsRevision' ? 1 : undefined,
    });
    const boot = new Map(Array.from({ length: options.nodes }, (_, i): [NodeId, string] => [i + 1, `sim:${i + 1}`]));
    for (const id of boot.keys()) this.addHost(id, boot);
    this.nextId = options.nodes + 1;
  }

  private addHost(id: NodeId, bootstrap: ReadonlyMap<NodeId, string> | undefined): SimHost {
    const h = new SimHost(id, this.env, this.rng.fork(), 8 + this.rng.int(40), bootstrap);
    this.hosts.set(id, h);
    return h;
  }

  private event(text: string): void {
    this.trace.event(this.sched.nowMs, text);
  }

  private onLeader(h: SimHost, term: number): void {
    this.stats.leaders++;
    this.event(`n${h.id} leads term ${term}`);
    this.checker.onLeader(h.id, term);
  }

  /**
   * A failed disk write must stop the node (the driver's fatal path; production then stops the
   * process and a supervisor restarts it): the simulation kills the process and restarts it later.
   * Any other fatal error is a bug.
   */
  private onFatal(h: SimHost, err: Error): void {
    if (!(err.cause instanceof SimulatedWriteError)) {
      this.checker.fail(`n${h.id} stopped on a fatal error: ${errText(err)}`);
      return;
    }
    this.stats.writeFailuresStopped++;
    this.crash(h, `its disk failed a write: ${err.message}`);
  }

  // ------------------------------------------------------------ lifecycle faults

  /** Start (or restart) a node; a corrupt read must stop it with a CorruptionError. */
  private startHost(h: SimHost, flipOnRead: boolean): void {
    h.start(flipOnRead).then(
      () => {
        if (h.lastOpenFlipped) this.checker.fail(`corruption: n${h.id} accepted a log read with flipped bits and started, instead of stopping with a CorruptionError`);
        if (h.state === 'up') this.event(`n${h.id} up (applied ${h.kv!.appliedIndex()}, last ${h.log!.lastIndex()})`);
      },
      (e: unknown) => {
        h.downUntilMs = this.sched.nowMs + 50;
        if (h.lastOpenFlipped && e instanceof CorruptionError) {
          this.stats.corruptReadsCaught++;
          this.event(`n${h.id} refused to start: ${e.message}`);
        } else if (h.lastOpenFlipped) {
          this.checker.fail(`corruption: n${h.id} accepted a log read with flipped bits, then failed: ${errText(e)}`);
        } else if (e instanceof Error && e.cause instanceof SimulatedWriteError) {
          // The disk failed a write while the node started (e.g. its first persist): it must refuse to
          // start with the store's named error, as it stops on one later; it is restarted later.
          this.stats.writeFailuresStopped++;
          this.event(`n${h.id} refused to start: its disk failed a write: ${e.message}`);
        } else this.checker.fail(`n${h.id} failed to start: ${errText(e)}`);
      },
    );
  }

  private crash(h: SimHost, why: string): void {
    h.crash();
    h.downUntilMs = this.sched.nowMs + 50 + this.faultRng.int(1500);
    this.stats.crashes++;
    this.event(`n${h.id} CRASH (${why})`);
  }

  private restartDue(): void {
    for (const h of this.hosts.values()) {
      if (h.state !== 'down' || this.sched.nowMs < h.downUntilMs) continue;
      this.stats.restarts++;
      // Some restarts read a flipped bit: the checksums must refuse it (the next attempt reads clean).
      this.startHost(h, this.faultsOn && this.faultRng.chance(0.1));
    }
  }

  private leader(): SimHost | undefined {
    return [...this.hosts.values()].find((h) => h.serving && h.driver!.isLeader());
  }

  private faultStep(): void {
    const r = this.faultRng;
    this.restartDue();
    const up = [...this.hosts.values()].filter((h) => h.serving);
    if (r.chance(0.06) && up.length > 0) {
      const victim = up[r.int(up.length)]!;
      this.crash(victim, victim.driver!.isLeader() ? 'leader' : 'random');
    }
    if (this.healAtMs > 0 && this.sched.nowMs >= this.healAtMs) {
      this.healAtMs = 0;
      this.network.heal();
      this.event('partition healed');
    } else if (this.healAtMs === 0 && r.chance(0.04)) this.partition();
    if (r.chance(0.03)) this.changeMembership();
    if (r.chance(0.02)) this.transferLeadership();
  }

  private partition(): void {
    const r = this.faultRng;
    const ids = [...this.hosts.values()].filter((h) => h.state !== 'retired').map((h) => h.id);
    this.stats.partitions++;
    this.healAtMs = this.sched.nowMs + 200 + r.int(2000);
    const lead = this.leader();
    if (lead && r.chance(0.4)) {
      this.network.partition([[lead.id], ids.filter((id) => id !== lead.id)]);
      this.event(`PARTITION leader n${lead.id} isolated`);
      return;
    }
    if (r.chance(0.25)) {
      const from = ids[r.int(ids.length)]!;
      const to = ids[r.int(ids.length)]!;
      if (from === to) return;
      this.network.cutLink(from, to);
      this.event(`PARTITION one-way n${from} -/-> n${to}`);
      return;
    }
    for (let i = ids.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const cut = 1 + r.int(Math.max(1, ids.length - 1));
    this.network.partition([ids.slice(0, cut), ids.slice(cut)]);
    this.event(`PARTITION [${ids.slice(0, cut)}] | [${ids.slice(cut)}]`);
  }

  private changeMembership(): void {
    const lead = this.leader();
    if (!lead) return;
    const conf = lead.driver!.fullStatus().conf;
    const r = this.faultRng;
    let cc: ConfChange;
    if (conf.learners.length > 0 && r.chance(0.6)) {
      const id = conf.learners[r.int(conf.learners.length)]!;
      cc = { type: ConfChangeType.AddVoter, nodeId: id, context: encodeMemberContext(`sim:${id}`) };
    } else if (conf.voters.length + conf.learners.length < this.options.nodes + 2 && r.chance(0.5)) {
      cc = { type: ConfChangeType.AddLearner, nodeId: this.nextId, context: encodeMemberContext(`sim:${this.nextId}`) };
    } else if (conf.voters.length > 3) {
      cc = { type: ConfChangeType.RemoveNode, nodeId: conf.voters[r.int(conf.voters.length)]!, context: new Uint8Array(0) };
    } else return;
    const what = `${['add-voter', 'add-learner', 'remove'][cc.type]} n${cc.nodeId}`;
    let applied: Promise<unknown>;
    try {
      applied = lead.driver!.proposeConfChange(cc, undefined);
    } catch (e) {
      if (isRaftkvError(e)) return;
      throw e;
    }
    this.stats.confChanges++;
    this.event(`n${lead.id} proposes ${what}`);
    if (cc.type === ConfChangeType.AddLearner) {
      this.nextId++;
      this.startHost(this.addHost(cc.nodeId, undefined), false);
    }
    // A removed server is shut down for good once its removal applied on the leader.
    if (cc.type === ConfChangeType.RemoveNode) {
      applied.then(
        () => {
          this.event(`n${cc.nodeId} retired after removal`);
          this.hosts.get(cc.nodeId)?.retire();
        },
        () => undefined,
      );
    } else applied.catch(() => undefined);
  }

  private transferLeadership(): void {
    const lead = this.leader();
    if (!lead) return;
    const voters = lead.driver!.fullStatus().conf.voters.filter((id) => id !== lead.id);
    const target = voters[this.faultRng.int(voters.length)];
    if (target === undefined) return;
    lead.driver!.transferLeadership(target);
    this.stats.transfers++;
    this.event(`n${lead.id} transfers leadership to n${target}`);
  }

  private checkLogs(): void {
    const up = [...this.hosts.values()].filter((h) => h.serving);
    for (const h of up) this.checker.checkCommittedPrefix(h.id, h.log!);
    for (let i = 0; i < up.length; i++)
      for (let j = i + 1; j < up.length; j++) this.checker.checkLogMatching(up[i]!.id, up[i]!.log!, up[j]!.id, up[j]!.log!);
  }

  // ------------------------------------------------------------ phases

  async run(): Promise<void> {
    for (const h of this.hosts.values()) this.startHost(h, false);
    this.clients.start(3);
    this.leaseClients.start(3);
    this.watchClients.start(2);
    const every = (ms: number, f: () => void): void => {
      const fire = (): void => {
        f();
        this.sched.schedule(ms, fire);
      };
      this.sched.schedule(ms, fire);
    };
    every(FAULT_STEP_MS, () => {
      if (this.faultsOn) this.faultStep();
    });
    every(500, () => this.checkLogs());
    const failed = (): boolean => this.checker.violations.length > 0;
    await this.sched.runUntil(this.options.faultMs, failed);
    if (!failed()) await this.recover();
    if (!failed()) await this.endLeases();
    this.clients.stop();
    this.leaseClients.stop();
    this.watchClients.stop();
    for (const v of this.leaseClients.violations()) this.checker.fail(v);
    if (!failed()) this.checkHistory();
  }

  /** The lease clients walk away: the leader's lessor must end every lease (liveness of expiry). */
  private async endLeases(): Promise<void> {
    this.leaseClients.stop();
    const deadline = this.sched.nowMs + LEASES_END_MS_MAX;
    const held = (): number[] => this.leader()?.kv?.store.leases().map((l) => l.id) ?? [-1];
    const done = (): boolean => this.checker.violations.length > 0 || held().length === 0;
    while (!done() && this.sched.nowMs < deadline) {
      this.restartDue();
      await this.sched.runUntil(this.sched.nowMs + 20, done);
    }
    if (!done()) this.checker.fail(`liveness: leases [${held().join(',')}] (-1: no leader) still held ${LEASES_END_MS_MAX} ms after their holders stopped (${this.where()})`);
  }

  /** Faults off, network healed, everyone restarted: a new write must apply on every member. */
  private async recover(): Promise<void> {
    this.faultsOn = false;
    this.network.heal();
    this.healAtMs = 0;
    this.network.faults.dropRate = 0;
    this.network.faults.duplicateRate = 0;
    this.env.diskFaults.writeErrorRate = 0;
    for (const h of this.hosts.values()) if (h.state === 'down') h.downUntilMs = 0;
    this.restartDue();
    this.event('RECOVERY: faults off, network healed, all members restarting');
    const deadline = this.sched.nowMs + this.options.recoveryMsMax;
    let probe: number | null = null;
    let proposing = false;
    const done = (): boolean => this.checker.violations.length > 0 || (probe !== null && this.allApplied(Math.max(probe, ...this.checker.acked.keys())));
    while (!done() && this.sched.nowMs < deadline) {
      this.restartDue();
      const lead = this.leader();
      if (probe === null && !proposing && lead) {
        proposing = true;
        this.probe(lead).then(
          (i) => (probe = i),
          () => (proposing = false),
        );
      }
      await this.sched.runUntil(this.sched.nowMs + 20, done);
    }
    if (!done()) this.checker.fail(`liveness: no write applied on every member within ${this.options.recoveryMsMax} ms of healing (${this.where()})`);
    this.checkLogs();
  }

  /** A write through the leader; it may be lost (the leader retired, or lost its lead): a deadline. */
  private async probe(lead: SimHost): Promise<number> {
    const ac = new AbortController();
    this.sched.schedule(1_000, () => ac.abort(new Error('probe deadline')));
    const { index } = await lead.driver!.propose(encodeKvCommand({ op: 'put', key: 'probe', value: 'p' }), ac.signal);
    return index;
  }

  private members(): NodeId[] {
    const lead = this.leader();
    if (!lead) return [];
    const conf = lead.driver!.fullStatus().conf;
    return [...conf.voters, ...conf.learners];
  }

  private allApplied(index: number): boolean {
    const members = this.members();
    return members.length > 0 && members.every((id) => (this.hosts.get(id)?.kv?.appliedIndex() ?? -1) >= index);
  }

  private where(): string {
    return [...this.hosts.values()]
      .map((h) => (h.serving ? `n${h.id}:${roleName(h.driver!.status().role)}/t${h.driver!.status().term}/applied=${h.kv!.appliedIndex()}` : `n${h.id}:${h.state}`))
      .join(' ');
  }

  private checkHistory(): void {
    const result = checkHistory(this.clients.history, { maxSteps: 200_000 });
    for (const k of result.keys) {
      if (k.verdict !== 'violation') continue;
      // The shrunk history: the few operations that cannot be ordered, as the trace shows them.
      const ops = (k.minimal ?? []).slice(0, 12).map((op) => `c${op.clientId} ${describeOp(op)}`);
      this.checker.fail(`linearizability: the client history of key ${k.key} has no linearization (${k.operationCount} operations); minimal: ${ops.join('; ')}`);
    }
  }

  result(): NodeSimResult {
    const c = this.clients.counts;
    let lost = 0;
    let lostKv = 0;
    for (const h of this.hosts.values()) lost += h.logDisk.lostWrites;
    for (const h of this.hosts.values()) lostKv += h.kvDisk.lostWrites;
    return {
      seed: this.options.seed,
      nodes: this.options.nodes,
      violations: this.checker.violations,
      trace: this.trace.tail(this.options.traceLines ?? 80),
      stats: { ...this.stats, leases: this.leaseClients.counts.leases, leaseBeats: this.leaseClients.counts.beats, leaseReads: this.leaseClients.counts.reads, lostDiskWrites: lost, lostKvWrites: lostKv, watchStreams: this.watchClients.counts.streams, watchedRevisions: this.watchClients.counts.revisions, watchCompacted: this.watchClients.counts.compacted, compactRevision: Math.max(0, ...[...this.hosts.values()].map((h) => h.kv?.store.stats().compactRevision ?? 0)), ops: c.ok + c.fail + c.unknown, unknownOps: c.unknown, staleGets: c.staleGets, committed: this.checker.committed.size, virtualMs: this.sched.nowMs },
    };
  }
}

function describeOp(op: Operation): string {
  const what =
    op.kind === 'put' ? `put ${op.key}=${op.input}` : op.kind === 'delete' ? `delete ${op.key}` : op.kind === 'cas' ? `cas ${op.key} ${op.input.expected}->${op.input.new}` : `get ${op.key}`;
  const out = op.outcome !== 'ok' ? '' : op.kind === 'get' ? ` = ${op.output}` : op.kind === 'cas' ? ` = ${op.output}` : '';
  return `${what} [${op.invokeMs}..${op.completeMs}] ${op.outcome}${out}${op.note ? ` (${op.note})` : ''}`;
}

function errText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

export async function runNodeSeed(options: NodeSimOptions): Promise<NodeSimResult> {
  const w = new NodeWorld(options);
  try {
    await w.run();
  } catch (e) {
    w.checker.fail(`exception: ${errText(e)}`);
  }
  return w.result();
}

export function nodeSimOptions(seed: number, overrides: Partial<NodeSimOptions> = {}): NodeSimOptions {
  return { seed, nodes: seed % 2 === 0 ? 3 : 5, faultMs: 4_000, recoveryMsMax: 6_000, ...overrides };
}
