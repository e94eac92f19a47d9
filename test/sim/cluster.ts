import { SeededRandom } from '../../src/common/random.js';
import { isRaftkvError } from '../../src/common/errors.js';
import type { BrokenRules } from '../../src/raft/config.js';
import { bootstrapEntries } from '../../src/raft/bootstrap.js';
import { contextKey } from '../../src/raft/read-only.js';
import { ConfChangeType, MessageType, Role, roleName, type ConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready, type Snapshot } from '../../src/raft/types.js';
import { SafetyChecker } from './checker.js';
import { SimNetwork } from './network.js';
import { SimNode, decodeState, type SimNodeHooks } from './sim-node.js';
import { Trace } from './trace.js';

export interface SimOptions {
  seed: number;
  nodes: 3 | 5;
  faultTicks: number;
  /** After faults stop, a leader must commit a new write within this many ticks. */
  recoveryTicksMax: number;
  broken?: BrokenRules;
}

export interface SimResult {
  seed: number;
  nodes: number;
  violations: string[];
  trace: string[];
  stats: { ticks: number; acked: number; reads: number; crashes: number; partitions: number; confChanges: number; transfers: number; snapshotsSent: number; leaders: number };
}

interface PendingWrite {
  term: number;
  value: string;
}
interface PendingRead {
  requiredIndex: number;
  readIndex: number | null;
}

const ELECTION_TICKS = 10;
const encoder = new TextEncoder();

/** A whole simulated cluster: nodes, network, clients, fault schedule and the checker. */
export class SimCluster implements SimNodeHooks {
  readonly rng: SeededRandom;
  private readonly faultRng: SeededRandom;
  readonly net: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly trace = new Trace();
  readonly nodes = new Map<NodeId, SimNode>();
  now = 0;
  private nextId: number;
  private writeSeq = 0;
  private readSeq = 0;
  private readonly writes = new Map<NodeId, Map<number, PendingWrite>>();
  private readonly reads = new Map<NodeId, Map<string, PendingRead>>();
  private healAt = 0;
  private faultsOn = true;
  private readonly maxMembers: number;
  readonly stats = { ticks: 0, acked: 0, reads: 0, crashes: 0, partitions: 0, confChanges: 0, transfers: 0, snapshotsSent: 0, leaders: 0 };

  constructor(readonly options: SimOptions) {
    this.rng = new SeededRandom(options.seed);
    this.faultRng = this.rng.fork();
    this.net = new SimNetwork(this.rng.fork());
    this.net.faults = {
      dropRate: this.faultRng.float() * 0.1,
      duplicateRate: this.faultRng.float() * 0.05,
      delayTicksMax: this.faultRng.int(4),
    };
    this.maxMembers = options.nodes + 2;
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1);
    for (const id of voters) {
      const n = this.addNode(id);
      const boot = bootstrapEntries(voters);
      n.storage.bootstrap(boot.entries, boot.hardState);
      n.start();
    }
    this.nextId = options.nodes + 1;
  }

  private addNode(id: NodeId): SimNode {
    const n = new SimNode(id, this.rng.fork(), {
      electionTicks: ELECTION_TICKS,
      snapshotEveryEntries: 10 + this.rng.int(30),
      trailingEntries: this.rng.int(10),
      ...(this.options.broken ? { broken: this.options.broken } : {}),
    });
    this.nodes.set(id, n);
    this.writes.set(id, new Map());
    this.reads.set(id, new Map());
    return n;
  }

  // ------------------------------------------------------------ node driver hooks

  onApply(node: SimNode, e: Entry): void {
    this.checker.onApply(this.now, node.id, e);
    const w = this.writes.get(node.id)!.get(e.index);
    if (!w) return;
    this.writes.get(node.id)!.delete(e.index);
    if (w.term === e.term) {
      this.checker.onAck({ index: e.index, term: e.term, value: w.value, tick: this.now });
      this.stats.acked++;
    }
  }

  onConfChange(node: SimNode, cc: ConfChange, conf: ConfState): void {
    const isLeader = node.raw?.basicStatus().role === Role.Leader || node.raw?.basicStatus().lead === node.id;
    if (!isLeader) return;
    this.trace.event(this.now, `n${node.id} applied conf change ${['add-voter', 'add-learner', 'remove'][cc.type]} ${cc.nodeId}: voters=[${conf.voters}] learners=[${conf.learners}]`);
    if (cc.type === ConfChangeType.RemoveNode) {
      // A removed server is shut down for good once its removal is committed.
      const gone = this.nodes.get(cc.nodeId);
      if (gone && gone !== node) this.retire(gone);
      else if (gone) gone.removed = true;
    }
  }

  onRestore(node: SimNode, snap: Snapshot): void {
    this.trace.event(this.now, `n${node.id} installed snapshot ${snap.meta.term}/${snap.meta.index}`);
    for (const v of decodeState(snap.data).values) {
      this.checker.onApply(this.now, node.id, { index: v.index, term: v.term, type: 0, data: encoder.encode(v.value) });
    }
  }

  private retire(n: SimNode): void {
    n.removed = true;
    n.crash();
    this.net.dropFor(n.id);
    this.trace.event(this.now, `n${n.id} retired after removal`);
  }

  // ------------------------------------------------------------ message plumbing

  private send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const dest = this.nodes.get(m.to);
      const ok = dest !== undefined && !dest.removed && this.net.send(m, this.now);
      this.trace.message(this.now, m, !ok);
      if (m.type === MessageType.Snap) {
        this.stats.snapshotsSent++;
        // The transport reports the outcome of a snapshot stream to the sender.
        this.nodes.get(m.from)?.raw?.reportSnapshot(m.to, ok);
      }
    }
  }

  private processReady(n: SimNode): void {
    for (let guard = 0; guard < 100 && n.raw?.hasReady(); guard++) {
      const raw = n.raw;
      const rd: Ready = raw.ready();
      if (rd.softState) this.onSoftState(n, rd);
      this.checker.onEntriesCreated(this.now, n.id, rd.entries);
      this.send(rd.messages);
      // A crash between sending and persisting: the leader's parallel disk write is lost.
      if (this.faultsOn && this.faultRng.chance(0.0005)) {
        this.crash(n, 'mid-ready');
        return;
      }
      n.persist(rd, this);
      this.send(rd.messagesAfterPersist);
      n.apply(rd, this);
      if (!n.raw) return;
      for (const rs of rd.readStates) {
        const r = this.reads.get(n.id)!.get(contextKey(rs.context));
        if (r) r.readIndex = rs.index;
      }
      this.serveReads(n);
      raw.advance(rd);
    }
  }

  private onSoftState(n: SimNode, rd: Ready): void {
    const s = rd.softState!;
    const st = n.raw!.basicStatus();
    this.trace.event(this.now, `n${n.id} is ${roleName(s.role)} term=${st.term} leader=${s.leader} last=${st.lastIndex} commit=${st.commit}`);
    if (s.role === Role.Leader) {
      this.stats.leaders++;
      this.checker.onLeader(this.now, n.id, st.term, n.raw!.logView());
    }
  }

  private serveReads(n: SimNode): void {
    const pending = this.reads.get(n.id)!;
    for (const [key, r] of pending) {
      if (r.readIndex === null || n.state.applied < r.readIndex) continue;
      pending.delete(key);
      this.stats.reads++;
      this.checker.onReadServed(this.now, n.id, r.readIndex, n.state.applied, r.requiredIndex);
    }
  }

  // ------------------------------------------------------------ faults and clients

  private crash(n: SimNode, why: string): void {
    n.crash();
    n.downUntil = this.now + 5 + this.faultRng.int(60);
    this.writes.get(n.id)!.clear();
    this.reads.get(n.id)!.clear();
    this.net.dropFor(n.id);
    this.stats.crashes++;
    this.trace.event(this.now, `n${n.id} CRASH (${why})`);
  }

  private restart(n: SimNode): void {
    n.start();
    this.trace.event(this.now, `n${n.id} restart term=${n.raw!.basicStatus().term} last=${n.raw!.logView().lastIndex()} applied=${n.state.applied}`);
  }

  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up && !n.removed);
  }

  leaders(): SimNode[] {
    return this.live().filter((n) => n.raw!.basicStatus().role === Role.Leader);
  }

  private injectFaults(): void {
    const r = this.faultRng;
    for (const n of this.nodes.values()) {
      if (!n.up && !n.removed && this.now >= n.downUntil) this.restart(n);
    }
    if (r.chance(0.006)) {
      const live = this.live();
      const victim = live[r.int(live.length)];
      if (victim) this.crash(victim, victim.raw!.basicStatus().role === Role.Leader ? 'leader' : 'random');
    }
    if (this.net.partitioned() && this.now >= this.healAt) {
      this.net.healAll();
      this.trace.event(this.now, 'partition healed');
    } else if (!this.net.partitioned() && r.chance(0.006)) {
      this.startPartition();
    }
    if (r.chance(0.004)) this.changeMembership();
    if (r.chance(0.004)) this.transferLeadership();
  }

  private startPartition(): void {
    const r = this.faultRng;
    const ids = [...this.nodes.values()].filter((n) => !n.removed).map((n) => n.id);
    const kind = r.int(3);
    this.stats.partitions++;
    this.healAt = this.now + 20 + r.int(150);
    if (kind === 0) {
      const shuffled = ids.sort(() => r.float() - 0.5);
      const cut = 1 + r.int(Math.max(1, shuffled.length - 1));
      this.net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      this.trace.event(this.now, `PARTITION [${shuffled.slice(0, cut)}] | [${shuffled.slice(cut)}]`);
    } else if (kind === 1) {
      const leader = this.leaders()[0];
      if (!leader) return;
      this.net.partition([leader.id], ids.filter((id) => id !== leader.id));
      this.trace.event(this.now, `PARTITION leader n${leader.id} isolated`);
    } else {
      const a = ids[r.int(ids.length)]!;
      const b = ids[r.int(ids.length)]!;
      if (a === b) return;
      this.net.cutLink(a, b);
      this.trace.event(this.now, `PARTITION one-way ${a} -/-> ${b}`);
    }
  }

  private changeMembership(): void {
    const leader = this.leaders()[0];
    if (!leader) return;
    const conf = leader.raw!.status().conf;
    const r = this.faultRng;
    let cc: ConfChange;
    if (conf.learners.length > 0 && r.chance(0.6)) {
      cc = { type: ConfChangeType.AddVoter, nodeId: conf.learners[r.int(conf.learners.length)]!, context: new Uint8Array(0) };
    } else if (conf.voters.length + conf.learners.length < this.maxMembers && r.chance(0.5)) {
      const id = this.nextId;
      cc = { type: ConfChangeType.AddLearner, nodeId: id, context: new Uint8Array(0) };
    } else if (conf.voters.length > 2) {
      cc = { type: ConfChangeType.RemoveNode, nodeId: conf.voters[r.int(conf.voters.length)]!, context: new Uint8Array(0) };
    } else return;
    try {
      leader.raw!.proposeConfChange(cc);
    } catch (e) {
      if (isRaftkvError(e)) return;
      throw e;
    }
    if (cc.type === ConfChangeType.AddLearner) {
      this.nextId++;
      this.addNode(cc.nodeId).start();
    }
    this.stats.confChanges++;
    this.trace.event(this.now, `n${leader.id} proposes ${['add-voter', 'add-learner', 'remove'][cc.type]} ${cc.nodeId}`);
  }

  private transferLeadership(): void {
    const leader = this.leaders()[0];
    if (!leader) return;
    const voters = leader.raw!.status().conf.voters.filter((id) => id !== leader.id);
    const target = voters[this.faultRng.int(voters.length)];
    if (target === undefined) return;
    leader.raw!.transferLeadership(target);
    this.stats.transfers++;
    this.trace.event(this.now, `n${leader.id} transfers leadership to n${target}`);
  }

  /** Clients: writes go to whoever claims leadership; reads go to any node. */
  private clientRequests(): void {
    const r = this.rng;
    if (r.chance(0.5)) {
      for (const n of this.leaders()) this.propose(n);
    }
    if (r.chance(0.3)) {
      const live = this.live();
      const n = live[r.int(live.length)];
      if (n) this.read(n);
    }
  }

  propose(n: SimNode): boolean {
    const value = `w${++this.writeSeq}`;
    try {
      const { index, term } = n.raw!.propose(encoder.encode(value));
      this.writes.get(n.id)!.set(index, { term, value });
      return true;
    } catch (e) {
      if (isRaftkvError(e)) return false;
      throw e;
    }
  }

  private read(n: SimNode): void {
    const ctx = encoder.encode(`r${++this.readSeq}`);
    try {
      n.raw!.readIndex(ctx);
    } catch (e) {
      if (isRaftkvError(e)) return;
      throw e;
    }
    this.reads.get(n.id)!.set(contextKey(ctx), { requiredIndex: this.checker.maxAckedIndex, readIndex: null });
  }

  // ------------------------------------------------------------ the clock

  tick(): void {
    this.now++;
    this.stats.ticks++;
    if (this.faultsOn) this.injectFaults();
    for (const n of this.live()) {
      // Clocks are not perfectly in step.
      if (!this.faultsOn || !this.rng.chance(0.02)) n.raw!.tick();
    }
    for (const m of this.net.due(this.now)) {
      const dest = this.nodes.get(m.to);
      if (dest?.up && !dest.removed) dest.raw!.step(m);
    }
    this.clientRequests();
    for (const n of this.live()) this.processReady(n);
    if (this.now % 20 === 0) this.checkLogMatching();
  }

  private checkLogMatching(): void {
    const live = this.live();
    for (let i = 0; i < live.length; i++)
      for (let j = i + 1; j < live.length; j++) {
        this.checker.checkLogMatching(this.now, live[i]!.id, live[i]!.raw!.logView(), live[j]!.id, live[j]!.raw!.logView());
      }
  }

  /** Stop faults, heal, restart everyone, and require progress within a bound. */
  recover(): void {
    this.faultsOn = false;
    this.net.healAll();
    this.net.faults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 0 };
    for (const n of this.nodes.values()) if (!n.up && !n.removed) this.restart(n);
    this.trace.event(this.now, 'RECOVERY: faults off, network healed, all members up');
    const deadline = this.now + this.options.recoveryTicksMax;
    let probe: { node: SimNode; index: number } | null = null;
    while (this.now < deadline) {
      this.tick();
      const leader = this.leaders()[0];
      if (!probe && leader && this.propose(leader)) probe = { node: leader, index: leader.raw!.logView().lastIndex() };
      if (probe && this.allApplied(Math.max(probe.index, this.checker.maxAckedIndex))) return;
    }
    const where = this.live().map((n) => `n${n.id}:${roleName(n.raw!.basicStatus().role)}/t${n.raw!.basicStatus().term}/applied=${n.state.applied}`).join(' ');
    this.checker.fail(this.now, `liveness: no committed write applied on every member within ${this.options.recoveryTicksMax} ticks after healing (${where})`);
  }

  private allApplied(index: number): boolean {
    const leader = this.leaders()[0];
    if (!leader) return false;
    const conf = leader.raw!.status().conf;
    return [...conf.voters, ...conf.learners].every((id) => {
      const n = this.nodes.get(id);
      return n !== undefined && n.up && n.state.applied >= index;
    });
  }

  /** Durability: every acknowledged write is in every live member's state machine. */
  checkAckedWrites(): void {
    const leader = this.leaders()[0];
    if (!leader) return;
    const conf = leader.raw!.status().conf;
    const members = [...conf.voters, ...conf.learners].map((id) => this.nodes.get(id)!);
    for (const n of members) {
      const byIndex = new Map(n.state.values.map((v) => [v.index, v]));
      for (const w of this.checker.acked) {
        const v = byIndex.get(w.index);
        if (!v || v.value !== w.value) {
          this.checker.fail(this.now, `durability: acknowledged write "${w.value}" at index ${w.index} is missing on n${n.id} (has ${v ? `"${v.value}"` : 'nothing'})`);
          return;
        }
      }
    }
  }

  result(): SimResult {
    return { seed: this.options.seed, nodes: this.options.nodes, violations: this.checker.violations, trace: this.trace.tail(60), stats: this.stats };
  }
}

export function runSeed(options: SimOptions): SimResult {
  const c = new SimCluster(options);
  try {
    while (c.now < options.faultTicks && c.checker.violations.length === 0) c.tick();
    if (c.checker.violations.length === 0) c.recover();
    if (c.checker.violations.length === 0) c.checkAckedWrites();
  } catch (e) {
    c.checker.fail(c.now, `exception: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  return c.result();
}

export function defaultOptions(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  return { seed, nodes: seed % 2 === 0 ? 3 : 5, faultTicks: 800, recoveryTicksMax: 400, ...overrides };
}
