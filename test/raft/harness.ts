/**
 * A tiny deterministic network of RawNodes for scenario tests. Nothing happens unless a test asks:
 * ticks go to the nodes the test names, messages wait in one FIFO queue until the test delivers them,
 * and every delivered (or dropped) message is written to a readable trace.
 */
import { SeededRandom } from '../../src/common/random.js';
import { bootstrapEntries } from '../../src/raft/bootstrap.js';
import { decodeConfChange } from '../../src/raft/confchange.js';
import type { RaftConfigInput } from '../../src/raft/config.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { EntryType, MessageType, Role, makeMessage, roleName, type ConfChange, type Entry, type ConfState, type Message, type NodeId, type Ready, type ReadState, type Status } from '../../src/raft/types.js';
import { formatMessage } from './format.js';

export type NodeConfig = Omit<RaftConfigInput, 'id' | 'random'>;

export interface NetworkOptions {
  /** Initial voters; each gets a MemoryStorage bootstrapped with bootstrapEntries(voters). */
  readonly voters: readonly NodeId[];
  readonly seed?: number;
  /** Config for every node (defaults: electionTicks 10, heartbeatTicks 1, pre-vote and check-quorum on). */
  readonly config?: NodeConfig;
  /** Per-node overrides on top of `config`. */
  readonly configFor?: (id: NodeId) => NodeConfig;
  /** Report MsgSnap delivery (ok) or drop (failure) to the sender, as a transport does. Default true. */
  readonly autoReportSnapshot?: boolean;
}

export type MessageFilter = (m: Message) => boolean;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Guards against a protocol loop in deliverAll: far more than any scenario needs. */
const DELIVERIES_MAX = 10_000;

export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** The state machine's snapshot: the applied payloads, JSON-encoded. */
function encodeAppliedState(applied: readonly string[]): Uint8Array {
  return bytes(JSON.stringify(applied));
}

function decodeAppliedState(data: Uint8Array): string[] {
  return data.byteLength === 0 ? [] : (JSON.parse(decoder.decode(data)) as string[]);
}

/** One server: durable storage that survives a crash, and a volatile core and state machine. */
export class TestNode {
  readonly storage = new MemoryStorage();
  raw: RawNode | null = null;
  /** Payloads of applied normal entries, in order (the state machine of these tests). */
  applied: string[] = [];
  appliedIndex = 0;
  conf: ConfState = { voters: [], learners: [] };
  readStates: ReadState[] = [];
  /** A Ready whose messages were sent but which was not yet persisted (see Network.sendOnly). */
  outstanding: Ready | null = null;

  constructor(
    readonly id: NodeId,
    private readonly random: SeededRandom,
    private readonly config: NodeConfig,
  ) {}

  start(): void {
    const snap = this.storage.snapshot();
    this.applied = decodeAppliedState(snap.data);
    this.appliedIndex = snap.meta.index;
    this.conf = snap.meta.conf;
    this.readStates = [];
    this.outstanding = null;
    this.raw = new RawNode({ ...this.config, id: this.id, random: this.random.fork(), applied: snap.meta.index }, this.storage);
  }

  get node(): RawNode {
    if (!this.raw) throw new Error(`node ${this.id} is down`);
    return this.raw;
  }

  status(): Status {
    return this.node.status();
  }

  get role(): Role {
    return this.node.basicStatus().role;
  }

  get term(): number {
    return this.node.basicStatus().term;
  }

  get commit(): number {
    return this.node.logView().committed;
  }

  /** The whole log as `term/index` strings (compacted entries excluded). */
  logIds(): string[] {
    return this.node.logView().allEntries().map((e) => `${e.term}/${e.index}`);
  }
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered, in send order. */
  queue: Message[] = [];
  private readonly filters: MessageFilter[] = [];
  private readonly isolated = new Set<NodeId>();
  private traceLines: string[] = [];
  private readonly rng: SeededRandom;
  private readonly baseConfig: NodeConfig;

  constructor(private readonly options: NetworkOptions) {
    this.rng = new SeededRandom(options.seed ?? 1);
    this.baseConfig = { electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, ...options.config };
    const boot = bootstrapEntries(options.voters);
    for (const id of options.voters) {
      const n = this.addNode(id);
      n.storage.bootstrap(boot.entries, boot.hardState);
      n.start();
    }
    // Apply the bootstrap configuration entries.
    for (const id of options.voters) this.processReady(id);
    this.traceLines = [];
  }

  /** A node with empty storage (a new member to be added by a conf change). Not started. */
  addNode(id: NodeId): TestNode {
    const n = new TestNode(id, this.rng.fork(), { ...this.baseConfig, ...this.options.configFor?.(id) });
    this.nodes.set(id, n);
    return n;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  // ------------------------------------------------------------ driving one node

  /** Process Ready exactly per the contract in src/raft/types.ts until the node has none. */
  processReady(id: NodeId): void {
    const n = this.node(id);
    for (let guard = 0; guard < 100; guard++) {
      if (!n.raw || n.outstanding || !n.raw.hasReady()) return;
      const rd = this.sendOnly(id);
      this.finishReady(id, rd);
    }
    throw new Error(`node ${id}: Ready loop did not settle`);
  }

  /** Steps 1 of the contract only: take a Ready and send `messages` (the leader's parallel write). */
  sendOnly(id: NodeId): Ready {
    const n = this.node(id);
    const rd = n.node.ready();
    if (rd.softState) {
      this.traceLines.push(`${id} is ${roleName(rd.softState.role)} term=${n.term}${rd.softState.role === Role.Leader ? '' : ` leader=${rd.softState.leader}`}`);
    }
    this.queue.push(...rd.messages);
    n.outstanding = rd;
    return rd;
  }

  /** Steps 2-6 of the contract for a Ready taken with sendOnly. */
  finishReady(id: NodeId, rd: Ready): void {
    const n = this.node(id);
    if (n.outstanding !== rd) throw new Error(`node ${id}: not the outstanding Ready`);
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied = decodeAppliedState(rd.snapshot.data);
      n.appliedIndex = rd.snapshot.meta.index;
      n.conf = rd.snapshot.meta.conf;
    }
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messagesAfterPersist);
    for (const e of rd.committedEntries) {
      if (e.index <= n.appliedIndex) continue;
      if (e.type === EntryType.ConfChange) n.conf = n.node.applyConfChange(decodeConfChange(e.data));
      else if (e.data.byteLength > 0) n.applied.push(decoder.decode(e.data));
      n.appliedIndex = e.index;
    }
    n.readStates.push(...rd.readStates);
    n.outstanding = null;
    n.node.advance(rd);
  }

  // ------------------------------------------------------------ crashes

  /** Discard the volatile state (core, state machine, an unpersisted Ready); storage survives. */
  crash(id: NodeId): void {
    const n = this.node(id);
    n.raw = null;
    n.outstanding = null;
    this.traceLines.push(`${id} crashed`);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    n.start();
    this.traceLines.push(`${id} restarted term=${n.term} last=${n.node.logView().lastIndex()}`);
    this.processReady(id);
  }

  // ------------------------------------------------------------ inputs

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).node.tick();
      this.processReady(id);
    }
  }

  /** Tick every live node `times` times (without delivering anything). */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const n of this.live()) this.tick(n.id);
  }

  campaign(id: NodeId): void {
    this.node(id).node.campaign();
    this.processReady(id);
  }

  /** Propose a normal entry; returns its index. Throws what RawNode.propose throws. */
  propose(id: NodeId, data: string): number {
    const { index } = this.node(id).node.propose(bytes(data));
    this.processReady(id);
    return index;
  }

  proposeConfChange(id: NodeId, cc: Omit<ConfChange, 'context'>): number {
    const { index } = this.node(id).node.proposeConfChange({ ...cc, context: new Uint8Array(0) });
    this.processReady(id);
    return index;
  }

  readIndex(id: NodeId, ctx: string): void {
    this.node(id).node.readIndex(bytes(ctx));
    this.processReady(id);
  }

  transferLeadership(id: NodeId, target: NodeId): void {
    this.node(id).node.transferLeadership(target);
    this.processReady(id);
  }

  /** Run `f` against node `id`'s RawNode, then process its Ready. */
  with(id: NodeId, f: (raw: RawNode) => void): void {
    f(this.node(id).node);
    this.processReady(id);
  }

  /** Snapshot node `id` at its applied index and drop its log before `compactIndex`. */
  compact(id: NodeId, compactIndex: number): void {
    const n = this.node(id);
    n.storage.createSnapshot(n.appliedIndex, n.conf, encodeAppliedState(n.applied));
    n.storage.compact(compactIndex);
  }

  // ------------------------------------------------------------ the network

  /** Drop messages matching `f` at delivery until the returned function is called. */
  drop(f: MessageFilter): () => void {
    this.filters.push(f);
    return () => {
      const i = this.filters.indexOf(f);
      if (i >= 0) this.filters.splice(i, 1);
    };
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Remove every isolation and drop filter. */
  heal(): void {
    this.isolated.clear();
    this.filters.length = 0;
  }

  /** Put a hand-made message in the queue (it is delivered and traced like any other). */
  send(m: Message): void {
    this.queue.push(m);
  }

  private dropped(m: Message): boolean {
    const to = this.nodes.get(m.to);
    if (!to?.raw) return true;
    if (this.isolated.has(m.from) || this.isolated.has(m.to)) return true;
    return this.filters.some((f) => f(m));
  }

  private deliverMessage(m: Message): void {
    const drop = this.dropped(m);
    this.traceLines.push(`${formatMessage(m)}${drop ? '  DROPPED' : ''}`);
    const snapReport = m.type === MessageType.Snap && this.options.autoReportSnapshot !== false;
    if (!drop) {
      this.node(m.to).node.step(m);
      this.processReady(m.to);
    }
    const sender = this.nodes.get(m.from);
    if (snapReport && sender?.raw) {
      sender.raw.reportSnapshot(m.to, !drop);
      this.processReady(m.from);
    }
  }

  /**
   * Deliver the messages queued now (not the ones they cause), in order. Returns how many.
   * With `only`, deliver just the matching messages and leave the rest queued.
   */
  deliverRound(only?: MessageFilter): number {
    const batch = only ? this.queue.filter(only) : this.queue;
    this.queue = only ? this.queue.filter((m) => !only(m)) : [];
    for (const m of batch) this.deliverMessage(m);
    return batch.length;
  }

  /** Deliver until the queue is empty (messages caused by deliveries included). */
  deliverAll(only?: MessageFilter): void {
    let total = 0;
    while (this.queue.some((m) => !only || only(m))) {
      total += this.deliverRound(only);
      if (total > DELIVERIES_MAX) throw new Error('deliverAll: the network did not quiesce');
    }
  }

  /** Drop every queued message without delivering or tracing it. */
  clearQueue(): void {
    this.queue = [];
  }

  // ------------------------------------------------------------ observation

  live(): TestNode[] {
    return [...this.nodes.values()].filter((n) => n.raw !== null);
  }

  leader(): TestNode | undefined {
    return this.live().find((n) => n.role === Role.Leader);
  }

  /** The trace lines since the last call, then forget them. */
  takeTrace(): string[] {
    const t = this.traceLines;
    this.traceLines = [];
    return t;
  }

  /** Queued messages, formatted. */
  pending(): string[] {
    return this.queue.map(formatMessage);
  }

  /** Elect `id` (campaign and deliver everything); returns the trace of the election. */
  elect(id: NodeId): string[] {
    this.campaign(id);
    this.deliverAll();
    const n = this.node(id);
    if (n.role !== Role.Leader) throw new Error(`node ${id} did not win: ${roleName(n.role)} term=${n.term}\n${this.traceLines.join('\n')}`);
    return this.takeTrace();
  }
}

/** Messages of the given types (for drop filters and counting). */
export function ofType(...types: MessageType[]): MessageFilter {
  return (m) => types.includes(m.type);
}

export function between(from: NodeId, to: NodeId): MessageFilter {
  return (m) => m.from === from && m.to === to;
}

/** A hand-made message (fields not given are zero/empty). */
export function msg(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return makeMessage(fields);
}

/** A normal entry for hand-made appends. */
export function ent(term: number, index: number, data = ''): Entry {
  return { term, index, type: EntryType.Normal, data: bytes(data) };
}
