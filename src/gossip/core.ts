import { InvalidArgumentError } from '../common/index.js';
import type { Random } from '../common/index.js';
import { Awareness } from './awareness.js';
import { WireError } from './bytes.js';
import {
  COMPOUND_HEADER_BYTES, COMPOUND_PART_OVERHEAD_BYTES, decodePacket, decodePushPull, encodeMessage,
  encodePacket, encodePushPull,
} from './codec.js';
import type { Message, PushPullState } from './codec.js';
import { makeGossipConfig } from './config.js';
import type { GossipConfig, GossipConfigInput } from './config.js';
import {
  pushPullScaleMs, reconnectChance, retransmitLimit, suspicionConfirmationsWanted, suspicionMinTimeoutMs,
} from './formulas.js';
import { MemberTable, viewOf } from './membership.js';
import type { MemberRecord } from './membership.js';
import { decodeMeta, encodeMeta, MetaTooLargeError } from './meta.js';
import { BroadcastQueue } from './queue.js';
import { Suspicion } from './suspicion.js';
import { MemberState } from './types.js';
import type {
  GossipReady, GossipStats, MemberEvent, MemberEventKind, MemberMeta, MemberView, OutPacket, OutStream,
} from './types.js';

type Alive = Extract<Message, { type: 'alive' }>;
type Suspect = Extract<Message, { type: 'suspect' }>;
type Dead = Extract<Message, { type: 'dead' }>;

/** Our probe of one member, from ping to verdict. */
interface Probe {
  readonly seq: number;
  readonly target: string;
  ackDeadlineMs: number;
  deadlineMs: number;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** A ping we send on someone else's behalf (ping-req). */
interface Relay {
  readonly requesterAddr: string;
  readonly requesterSeq: number;
  readonly nack: boolean;
  deadlineMs: number;
}

/** A reconnect ping to a member we hold suspect or dead, waiting for its ack. */
interface ReconnectPing {
  readonly target: string;
  readonly deadlineMs: number;
  /** Dead targets only: an ack means a partition healed, so resync with a push/pull. */
  readonly pushPullOnAck: boolean;
}

/** Push/pull exchanges in flight at once (memberlist caps concurrent ones at 128). */
const STREAMS_IN_FLIGHT_MAX = 128;
/** Share of the probe timeout a ping-req relay waits before answering nack. */
const RELAY_NACK_WINDOW_FRACTION = 0.8;
/** Seeds remembered for periodic rejoin. */
const SEEDS_MAX = 64;
/** Reconnect pings awaiting an ack at once (one is sent per reconnect interval at most). */
const RECONNECT_PINGS_MAX = 64;

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The SWIM + Lifeguard membership core: synchronous and deterministic. Drivers feed it time
 * (`tick`), datagrams (`handlePacket`) and push/pull payloads (`handleStream*`), and drain what it
 * wants done with `ready()`. Nothing here throws on bad input from the network.
 */
export class GossipCore {
  readonly config: GossipConfig;
  readonly stats: GossipStats = {
    packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, malformedPackets: 0, oversizedPackets: 0,
    malformedStreams: 0, droppedOutPackets: 0, droppedEvents: 0, droppedBroadcasts: 0, droppedRelays: 0,
    probes: 0, probeFailures: 0, suspicionsRaised: 0, refutes: 0, localStalls: 0, pushPulls: 0,
    reconnectPings: 0, reconnects: 0,
  };

  private readonly table: MemberTable;
  private readonly self: MemberRecord;
  private readonly awareness: Awareness;
  private readonly broadcasts: BroadcastQueue;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly relays = new Map<number, Relay>();
  private readonly streams = new Map<number, { to: string; join: boolean }>();
  private readonly reconnectPings = new Map<number, ReconnectPing>();
  private readonly seeds: string[] = [];
  private outPackets: OutPacket[] = [];
  private outStreams: OutStream[] = [];
  private outEvents: MemberEvent[] = [];
  private probe: Probe | null = null;
  private seq = 0;
  private streamId = 0;
  private now: number;
  private nextProbeMs: number;
  private nextGossipMs: number;
  private nextPushPullMs: number;
  private nextRejoinMs: number;
  private nextReconnectMs: number;
  private leaving = false;

  constructor(input: GossipConfigInput, private readonly random: Random, meta: MemberMeta, nowMs: number) {
    this.config = makeGossipConfig(input);
    const c = this.config;
    this.now = nowMs;
    this.awareness = new Awareness(c.awarenessMaxMultiplier);
    this.broadcasts = new BroadcastQueue(c.broadcastQueueMax);
    this.table = new MemberTable(random, c.name);
    this.self = {
      name: c.name, addr: c.advertiseAddr, metaBytes: this.encodeMetaChecked(meta), meta,
      incarnation: 1, state: MemberState.Alive, stateChangeMs: nowMs,
    };
    this.table.add(this.self);
    // Stagger the periodic work, as memberlist does, so members do not move in lockstep.
    this.nextProbeMs = nowMs + random.int(c.probeIntervalMs);
    this.nextGossipMs = nowMs + random.int(c.gossipIntervalMs);
    this.nextPushPullMs = c.pushPullIntervalMs > 0 ? nowMs + c.pushPullIntervalMs + random.int(c.pushPullIntervalMs) : Infinity;
    this.nextRejoinMs = c.rejoinIntervalMs > 0 ? nowMs + c.rejoinIntervalMs + random.int(c.rejoinIntervalMs) : Infinity;
    this.nextReconnectMs = c.reconnectIntervalMs > 0 ? nowMs + c.reconnectIntervalMs + random.int(c.reconnectIntervalMs) : Infinity;
  }

  // ---------------------------------------------------------------- public API

  get name(): string {
    return this.self.name;
  }

  get healthScore(): number {
    return this.awareness.healthScore;
  }

  get incarnation(): number {
    return this.self.incarnation;
  }

  members(): MemberView[] {
    return this.table.all().map(viewOf);
  }

  member(name: string): MemberView | undefined {
    const m = this.table.get(name);
    return m === undefined ? undefined : viewOf(m);
  }

  /** Number of members (ourselves included) currently alive or suspect. */
  liveCount(): number {
    let n = 0;
    for (const m of this.table.all()) if (m.state <= MemberState.Suspect) n++;
    return n;
  }

  private othersLive(): number {
    return this.liveCount() - (this.self.state <= MemberState.Suspect ? 1 : 0);
  }

  /** Advances time and runs everything that is due. */
  tick(nowMs: number): void {
    this.observeTime(nowMs);
    if (this.probe !== null) this.advanceProbe();
    if (!this.leaving && this.probe === null && this.now >= this.nextProbeMs) this.startProbe();
    this.expireRelays();
    this.expireReconnectPings();
    this.expireSuspicions();
    if (this.now >= this.nextGossipMs) this.gossip();
    if (!this.leaving && this.now >= this.nextPushPullMs) this.periodicPushPull();
    if (!this.leaving && this.now >= this.nextRejoinMs) this.rejoin();
    if (!this.leaving && this.now >= this.nextReconnectMs) this.reconnect();
  }

  /** Earliest time at which `tick` has work to do; drivers may sleep until then. */
  nextDeadlineMs(): number {
    let t = Math.min(this.nextGossipMs, this.leaving ? Infinity : Math.min(this.nextPushPullMs, this.nextRejoinMs, this.nextReconnectMs));
    if (this.probe !== null) {
      t = Math.min(t, this.probe.indirectSent ? this.probe.deadlineMs : this.probe.ackDeadlineMs);
    } else if (!this.leaving) {
      t = Math.min(t, this.nextProbeMs);
    }
    for (const r of this.relays.values()) t = Math.min(t, r.deadlineMs);
    for (const r of this.reconnectPings.values()) t = Math.min(t, r.deadlineMs);
    for (const s of this.suspicions.values()) t = Math.min(t, s.deadlineMs);
    return t;
  }

  /** A datagram arrived from `from` ("host:port"). Malformed ones are counted and dropped. */
  handlePacket(from: string, bytes: Uint8Array, nowMs?: number): void {
    if (nowMs !== undefined) this.observeTime(nowMs);
    this.stats.packetsIn++;
    this.stats.bytesIn += bytes.length;
    if (bytes.length > this.config.packetBytesMax) {
      this.stats.oversizedPackets++;
      return;
    }
    let messages: Message[];
    try {
      messages = decodePacket(bytes);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.stats.malformedPackets++;
      return;
    }
    for (const m of messages) this.handleMessage(from, m);
  }

  /** Server side of push/pull: merge the remote state, return ours (null if the payload is bad). */
  handleStream(_from: string, bytes: Uint8Array, nowMs?: number): Uint8Array | null {
    if (nowMs !== undefined) this.observeTime(nowMs);
    const remote = this.decodeStream(bytes);
    if (remote === null) return null;
    this.mergeState(remote);
    return encodePushPull({ join: false, states: this.localState() });
  }

  /** Client side of push/pull: the reply to stream `id`. */
  handleStreamReply(id: number, bytes: Uint8Array, nowMs?: number): boolean {
    if (nowMs !== undefined) this.observeTime(nowMs);
    if (!this.streams.delete(id)) return false;
    const remote = this.decodeStream(bytes);
    if (remote === null) return false;
    this.mergeState(remote);
    return true;
  }

  streamFailed(id: number): void {
    this.streams.delete(id);
  }

  /** Push/pull with each seed address; returns the stream ids the driver will report on. */
  join(seeds: readonly string[]): number[] {
    const ids: number[] = [];
    for (const addr of seeds) {
      if (addr === this.self.addr) continue;
      if (!this.seeds.includes(addr) && this.seeds.length < SEEDS_MAX) this.seeds.push(addr);
      const id = this.startStream(addr, true);
      if (id !== null) ids.push(id);
    }
    return ids;
  }

  /** Graceful leave: broadcast "dead, from myself"; peers mark us left. Poll isLeaveComplete(). */
  leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    this.probe = null;
    this.deadNode({ type: 'dead', incarnation: this.self.incarnation, node: this.self.name, from: this.self.name });
  }

  /** True once the leave broadcast has been sent its full retransmit count (or nobody is left to tell). */
  isLeaveComplete(): boolean {
    return this.leaving && (!this.broadcasts.has(this.self.name) || this.othersLive() === 0);
  }

  /** New metadata: a higher incarnation carries it to everyone. Throws InvalidArgumentError if too large. */
  updateMeta(meta: MemberMeta): void {
    const bytes = this.encodeMetaChecked(meta);
    this.self.meta = meta;
    this.self.metaBytes = bytes;
    this.self.incarnation++;
    this.broadcastAlive(this.self);
  }

  /** Driver hook: the event loop was blocked for `delayMs` (Lifeguard: we are the slow one). */
  noteLocalDelay(delayMs: number): void {
    if (delayMs > this.config.localStallThresholdMs) {
      this.awareness.apply(Math.ceil(delayMs / this.config.probeTimeoutMs));
    }
  }

  hasReady(): boolean {
    return this.outPackets.length > 0 || this.outStreams.length > 0 || this.outEvents.length > 0;
  }

  /** Drains what the driver must do: datagrams to send, push/pulls to run, events to deliver. */
  ready(): GossipReady {
    const r = { packets: this.outPackets, streams: this.outStreams, events: this.outEvents };
    this.outPackets = [];
    this.outStreams = [];
    this.outEvents = [];
    return r;
  }

  // ---------------------------------------------------------------- time

  /**
   * If we are called much later than our earliest deadline, our own process stalled (GC, a blocked
   * event loop). Time we did not run must not count against others: push pending deadlines out by
   * the gap since we last ran, and raise our health score so we judge more slowly for a while.
   */
  private observeTime(nowMs: number): void {
    if (nowMs <= this.now) return;
    const lateMs = nowMs - this.nextDeadlineMs();
    if (lateMs > this.config.localStallThresholdMs) {
      const gapMs = nowMs - this.now;
      this.stats.localStalls++;
      this.awareness.apply(Math.ceil(lateMs / this.config.probeTimeoutMs));
      if (this.probe !== null) {
        this.probe.ackDeadlineMs += gapMs;
        this.probe.deadlineMs += gapMs;
      }
      for (const r of this.relays.values()) r.deadlineMs += gapMs;
      for (const s of this.suspicions.values()) s.shift(gapMs);
    }
    this.now = nowMs;
  }

  // ---------------------------------------------------------------- probing

  private startProbe(): void {
    const target = this.table.nextProbeTarget(
      (m) => m.state <= MemberState.Suspect,
      () => this.reapDead(),
    );
    if (target === undefined) {
      this.nextProbeMs = this.now + this.config.probeIntervalMs;
      return;
    }
    this.stats.probes++;
    const seq = this.nextSeq();
    const intervalMs = this.awareness.scaleMs(this.config.probeIntervalMs);
    const timeoutMs = Math.min(this.awareness.scaleMs(this.config.probeTimeoutMs), intervalMs / 2);
    this.probe = {
      seq, target: target.name, ackDeadlineMs: this.now + timeoutMs, deadlineMs: this.now + intervalMs,
      indirectSent: false, expectedNacks: 0, nacks: 0,
    };
    this.nextProbeMs = this.now + intervalMs;
    const ping = encodeMessage({ type: 'ping', seq, target: target.name });
    if (target.state === MemberState.Suspect) {
      // Buddy system: tell the suspect directly, so it can refute at once. The accusation goes before
      // the ping, so the ack already carries the refutation back to us.
      this.send(target.addr, [this.accusation(target), ping]);
    } else {
      this.send(target.addr, [ping]);
    }
  }

  private advanceProbe(): void {
    const p = this.probe;
    if (p === null) return;
    const target = this.table.get(p.target);
    if (target === undefined || target.state > MemberState.Suspect) {
      this.probe = null;
      return;
    }
    if (!p.indirectSent && this.now >= p.ackDeadlineMs) {
      p.indirectSent = true;
      const helpers = this.table.pickRandom(this.config.indirectChecks,
        (m) => m.state === MemberState.Alive && m !== this.self && m !== target);
      const req = encodeMessage({ type: 'indirectPing', seq: p.seq, target: target.name, targetAddr: target.addr, nack: true });
      for (const h of helpers) this.send(h.addr, [req]);
      p.expectedNacks = helpers.length;
    }
    if (this.now >= p.deadlineMs) {
      this.probe = null;
      this.stats.probeFailures++;
      // Lifeguard: missing nacks mean the trouble is likely ours, not the target's.
      this.awareness.apply(p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1);
      this.suspectNode({ type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.self.name });
    }
  }

  /** "You are suspected, from us": what a member needs to hear in order to refute. */
  private accusation(target: MemberRecord): Uint8Array {
    return encodeMessage({ type: 'suspect', incarnation: target.incarnation, node: target.name, from: this.self.name });
  }

  private handleAck(seq: number): void {
    if (this.probe !== null && this.probe.seq === seq) {
      this.probe = null;
      this.awareness.apply(-1);
      return;
    }
    const reconnect = this.reconnectPings.get(seq);
    if (reconnect !== undefined) {
      this.reconnectPings.delete(seq);
      if (reconnect.pushPullOnAck) this.reconnected(reconnect.target);
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined) {
      this.relays.delete(seq);
      this.send(relay.requesterAddr, [encodeMessage({ type: 'ack', seq: relay.requesterSeq })]);
    }
  }

  private handleIndirectPing(from: string, m: Extract<Message, { type: 'indirectPing' }>): void {
    if (this.relays.size >= this.config.relaysMax) {
      this.stats.droppedRelays++;
      return;
    }
    const seq = this.nextSeq();
    // The nack must reach the requester before its probe deadline (ack wait + this window + two
    // hops), so we give up a little before a full probe timeout.
    const windowMs = Math.floor(this.config.probeTimeoutMs * RELAY_NACK_WINDOW_FRACTION);
    this.relays.set(seq, { requesterAddr: from, requesterSeq: m.seq, nack: m.nack, deadlineMs: this.now + windowMs });
    this.send(m.targetAddr, [encodeMessage({ type: 'ping', seq, target: m.target })]);
  }

  private expireRelays(): void {
    for (const [seq, r] of this.relays) {
      if (this.now < r.deadlineMs) continue;
      this.relays.delete(seq);
      if (r.nack) this.send(r.requesterAddr, [encodeMessage({ type: 'nack', seq: r.requesterSeq })]);
    }
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  // ---------------------------------------------------------------- messages

  private handleMessage(from: string, m: Message): void {
    switch (m.type) {
      case 'ping':
        if (m.target === this.self.name) this.send(from, [encodeMessage({ type: 'ack', seq: m.seq })]);
        return;
      case 'indirectPing': return this.handleIndirectPing(from, m);
      case 'ack': return this.handleAck(m.seq);
      case 'nack':
        if (this.probe !== null && this.probe.seq === m.seq) this.probe.nacks++;
        return;
      case 'alive': return this.aliveNode(m);
      case 'suspect':
        this.answerStaleAccusation(from, m);
        return this.suspectNode(m);
      case 'dead':
        this.answerStaleAccusation(from, m);
        return this.deadNode(m);
    }
  }

  /**
   * Not in memberlist: an accusation older than our current incarnation means the sender missed our
   * refutation. Tell it directly, so it does not run its suspicion out and declare us dead.
   */
  private answerStaleAccusation(from: string, m: Suspect | Dead): void {
    if (m.node !== this.self.name || m.incarnation >= this.self.incarnation || this.leaving) return;
    this.send(from, [encodeMessage({
      type: 'alive', incarnation: this.self.incarnation, node: this.self.name, addr: this.self.addr, meta: this.self.metaBytes,
    })]);
  }

  private aliveNode(a: Alive): void {
    if (this.leaving && a.node === this.self.name) return;
    let m = this.table.get(a.node);
    let isNew = false;
    let addrChanged = false;
    if (m === undefined) {
      if (this.table.size >= this.config.membersMax) return;
      m = { name: a.node, addr: a.addr, metaBytes: new Uint8Array(0), meta: null, incarnation: 0, state: MemberState.Dead, stateChangeMs: this.now };
      this.table.add(m);
      isNew = true;
    } else if (m.addr !== a.addr) {
      const reclaim = this.config.deadNodeReclaimMs;
      const canReclaim = reclaim !== null && m.state === MemberState.Dead && this.now - m.stateChangeMs > reclaim;
      // Same name, other address: only a departed member's name may move (memberlist conflict rule).
      if (m.state !== MemberState.Left && !canReclaim) return;
      addrChanged = true;
    }
    const isSelf = m === this.self;
    if (isSelf) {
      if (a.incarnation < m.incarnation) return;
      if (a.incarnation === m.incarnation && bytesEqual(a.meta, m.metaBytes)) return;
      this.refute(a.incarnation);
      return;
    }
    if (!isNew && !addrChanged && a.incarnation <= m.incarnation) return;
    this.suspicions.delete(m.name);
    this.broadcasts.queue(m.name, encodeMessage(a));
    const old = m.state;
    const metaChanged = !bytesEqual(a.meta, m.metaBytes);
    m.addr = a.addr;
    m.incarnation = a.incarnation;
    if (metaChanged) {
      m.metaBytes = a.meta;
      m.meta = decodeMeta(a.meta);
    }
    if (old !== MemberState.Alive) {
      m.state = MemberState.Alive;
      m.stateChangeMs = this.now;
    }
    if (old === MemberState.Dead && !isNew) this.healSeen();
    if (isNew || old === MemberState.Dead || old === MemberState.Left) this.emit('join', m);
    else if (metaChanged) this.emit('update', m);
    else if (old === MemberState.Suspect) this.emit('alive', m);
  }

  private suspectNode(s: Suspect): void {
    const m = this.table.get(s.node);
    if (m === undefined || s.incarnation < m.incarnation) return;
    const running = this.suspicions.get(s.node);
    if (running !== undefined) {
      // Independent confirmations shorten the timeout; re-broadcast so others learn of them too.
      if (running.confirm(s.from)) this.broadcasts.queue(s.node, encodeMessage(s));
      return;
    }
    if (m.state !== MemberState.Alive) return;
    if (m === this.self) {
      this.refute(s.incarnation);
      return;
    }
    this.broadcasts.queue(s.node, encodeMessage(s));
    m.incarnation = s.incarnation;
    m.state = MemberState.Suspect;
    m.stateChangeMs = this.now;
    this.stats.suspicionsRaised++;
    const n = this.liveCount();
    const c = this.config;
    const minMs = suspicionMinTimeoutMs(c.suspicionMult, n, c.probeIntervalMs);
    const wanted = suspicionConfirmationsWanted(c.suspicionMult, n);
    this.suspicions.set(s.node, new Suspicion(s.from, s.incarnation, this.now, wanted, minMs, c.suspicionMaxTimeoutMult * minMs));
    // Not in memberlist: probe a new suspect next. Its buddy ping carries the suspicion, so a live
    // suspect hears of it from us directly even if it missed the gossip, and answers us directly.
    this.table.probeSoon(s.node);
    this.emit('suspect', m);
  }

  private expireSuspicions(): void {
    for (const [name, s] of this.suspicions) {
      if (this.now < s.deadlineMs) continue;
      this.suspicions.delete(name);
      this.deadNode({ type: 'dead', incarnation: s.incarnation, node: name, from: this.self.name });
    }
  }

  private deadNode(d: Dead): void {
    const m = this.table.get(d.node);
    if (m === undefined || d.incarnation < m.incarnation) return;
    this.suspicions.delete(d.node);
    // A member's own leave notice turns "dead" into "left" (we may have declared it dead while cut
    // off from its goodbye): a departed member must read as left everywhere, and is never reconnected.
    const lateLeave = m.state === MemberState.Dead && d.from === d.node && m !== this.self;
    if (m.state === MemberState.Left || (m.state === MemberState.Dead && !lateLeave)) return;
    if (m === this.self && !this.leaving) {
      this.refute(d.incarnation);
      return;
    }
    this.broadcasts.queue(d.node, encodeMessage(d));
    m.incarnation = d.incarnation;
    m.state = d.from === d.node ? MemberState.Left : MemberState.Dead;
    m.stateChangeMs = this.now;
    if (m !== this.self) this.emit(m.state === MemberState.Left ? 'left' : 'dead', m);
  }

  /** Someone thinks we are suspect or dead: out-bid their incarnation and tell everyone we live. */
  private refute(accusedIncarnation: number): void {
    this.self.incarnation = Math.max(this.self.incarnation + 1, accusedIncarnation + 1);
    this.stats.refutes++;
    this.awareness.apply(1);
    this.broadcastAlive(this.self);
  }

  private broadcastAlive(m: MemberRecord): void {
    this.broadcasts.queue(m.name, encodeMessage({
      type: 'alive', incarnation: m.incarnation, node: m.name, addr: m.addr, meta: m.metaBytes,
    }));
  }

  // ---------------------------------------------------------------- dissemination

  private retransmitLimit(): number {
    return retransmitLimit(this.config.retransmitMult, this.table.size);
  }

  /** Sends `parts` as one datagram, filling the space left with queued broadcasts. */
  private send(to: string, parts: Uint8Array[]): void {
    let used = COMPOUND_HEADER_BYTES;
    for (const p of parts) used += p.length + COMPOUND_PART_OVERHEAD_BYTES;
    const extra = this.broadcasts.take(COMPOUND_PART_OVERHEAD_BYTES, this.config.packetBytesMax - used, this.retransmitLimit());
    this.emitPacket(to, encodePacket(parts.concat(extra)));
  }

  /** Like send, but piggybacked broadcasts count no transmit: the member may well not hear them. */
  private sendToDead(to: string, parts: Uint8Array[]): void {
    let used = COMPOUND_HEADER_BYTES;
    for (const p of parts) used += p.length + COMPOUND_PART_OVERHEAD_BYTES;
    const extra = this.broadcasts.peek(COMPOUND_PART_OVERHEAD_BYTES, this.config.packetBytesMax - used);
    this.emitPacket(to, encodePacket(parts.concat(extra)));
  }

  private emitPacket(to: string, bytes: Uint8Array): void {
    if (this.outPackets.length >= this.config.outboxPacketsMax) {
      this.stats.droppedOutPackets++;
      return;
    }
    this.stats.packetsOut++;
    this.stats.bytesOut += bytes.length;
    this.outPackets.push({ to, bytes });
  }

  /** Periodic gossip: queued broadcasts to a few random members (and recently dead ones). */
  private gossip(): void {
    this.nextGossipMs = this.now + this.config.gossipIntervalMs;
    if (this.broadcasts.length === 0) return;
    const targets = this.table.pickRandom(this.config.gossipNodes, (m) => {
      if (m === this.self) return false;
      if (m.state <= MemberState.Suspect) return true;
      return this.now - m.stateChangeMs < this.config.gossipToTheDeadMs;
    });
    const limit = this.retransmitLimit();
    const budget = this.config.packetBytesMax - COMPOUND_HEADER_BYTES;
    for (const t of targets) {
      // A dead or departed member cannot pass news on: tell it without spending a transmit.
      const parts = t.state <= MemberState.Suspect
        ? this.broadcasts.take(COMPOUND_PART_OVERHEAD_BYTES, budget, limit)
        : this.broadcasts.peek(COMPOUND_PART_OVERHEAD_BYTES, budget);
      if (parts.length === 0) break;
      this.emitPacket(t.addr, encodePacket(parts));
    }
    this.stats.droppedBroadcasts = this.broadcasts.dropped;
  }

  // ---------------------------------------------------------------- anti-entropy

  private periodicPushPull(): void {
    const n = this.table.size;
    const intervalMs = this.config.pushPullIntervalMs;
    this.nextPushPullMs = intervalMs > 0 ? this.now + pushPullScaleMs(intervalMs, n) : Infinity;
    const [peer] = this.table.pickRandom(1, (m) => m !== this.self && m.state === MemberState.Alive);
    if (peer !== undefined) this.startStream(peer.addr, false);
  }

  /**
   * A member we held dead is alive: a partition (or our own isolation) has healed. Its side's news
   * spreads by gossip, but a burst of refutations after a heal crowds the broadcast queues (a newer
   * message about a member replaces an older one), so one member here or there may miss one. An
   * anti-entropy push/pull a probe interval from now repairs that instead of the periodic one up to a
   * minute later; several heals seen within the interval share that one exchange.
   */
  private healSeen(): void {
    if (this.leaving) return;
    this.nextPushPullMs = Math.min(this.nextPushPullMs, this.now + this.config.probeIntervalMs);
  }

  /** Push/pull with seeds we do not see alive (we restarted, or a split left us without them). */
  private rejoin(): void {
    this.nextRejoinMs = this.now + this.config.rejoinIntervalMs;
    const liveAddrs = new Set<string>();
    for (const m of this.table.all()) if (m.state <= MemberState.Suspect) liveAddrs.add(m.addr);
    for (const seed of this.seeds) if (!liveAddrs.has(seed)) this.startStream(seed, true);
  }

  /**
   * Partition healing (Serf's reconnect, at probe pace). A member we declared dead may only have been
   * cut off: with chance dead/live, ping one random dead member (never a left one), accusation first,
   * so that if it is up it refutes at once and its ack carries the refutation to us. The ping is UDP
   * on purpose: while the cut lasts it costs one datagram, not a TCP connect hanging for its timeout.
   * Suspects get the same buddy ping every round: a suspicion raised during a cut has spent its
   * gossip where the suspect could not hear it, and our own probe round may be slow (Lifeguard
   * stretches it after a cut), so without this it would run out and declare a live member dead.
   */
  private reconnect(): void {
    this.nextReconnectMs = this.now + this.config.reconnectIntervalMs;
    const [suspect] = this.table.pickRandom(1, (m) => m.state === MemberState.Suspect);
    if (suspect !== undefined) this.sendReconnectPing(suspect, false);
    let dead = 0;
    let pick: MemberRecord | undefined;
    for (const m of this.table.all()) {
      if (m.state !== MemberState.Dead || this.now - m.stateChangeMs > this.config.reconnectTimeoutMs) continue;
      dead++;
      if (this.random.int(dead) === 0) pick = m; // reservoir sampling: uniform over the dead
    }
    if (pick === undefined || this.random.float() >= reconnectChance(dead, this.liveCount())) return;
    this.sendReconnectPing(pick, true);
  }

  private sendReconnectPing(target: MemberRecord, dead: boolean): void {
    if (this.reconnectPings.size >= RECONNECT_PINGS_MAX) return;
    const seq = this.nextSeq();
    this.reconnectPings.set(seq, { target: target.name, deadlineMs: this.now + this.config.probeIntervalMs, pushPullOnAck: dead });
    this.stats.reconnectPings++;
    const parts = [this.accusation(target), encodeMessage({ type: 'ping', seq, target: target.name })];
    // A dead member may have missed everything: give it our news too (counting no transmit). A
    // suspect is still gossiped to, so its ping stays small.
    if (dead) this.sendToDead(target.addr, parts);
    else this.emitPacket(target.addr, encodePacket(parts));
  }

  /**
   * A member we held dead answered: it is reachable again. Its refutation arrives in the same packet;
   * a push/pull now tells it everything it missed (including that we live: if it holds us dead, our
   * state makes us refute in turn), and tells us what its side saw.
   */
  private reconnected(name: string): void {
    const m = this.table.get(name);
    if (m === undefined || m.state === MemberState.Left) return;
    this.stats.reconnects++;
    this.startStream(m.addr, false);
  }

  private expireReconnectPings(): void {
    for (const [seq, r] of this.reconnectPings) if (this.now >= r.deadlineMs) this.reconnectPings.delete(seq);
  }

  private startStream(to: string, join: boolean): number | null {
    if (this.streams.size >= STREAMS_IN_FLIGHT_MAX) return null;
    const id = ++this.streamId;
    this.streams.set(id, { to, join });
    this.stats.pushPulls++;
    this.outStreams.push({ id, to, join, bytes: encodePushPull({ join, states: this.localState() }) });
    return id;
  }

  private localState(): PushPullState[] {
    return this.table.all().map((m) => ({
      name: m.name, addr: m.addr, meta: m.metaBytes, incarnation: m.incarnation, state: m.state,
    }));
  }

  private decodeStream(bytes: Uint8Array): readonly PushPullState[] | null {
    if (bytes.length > this.config.streamBytesMax) {
      this.stats.malformedStreams++;
      return null;
    }
    try {
      return decodePushPull(bytes, this.config.membersMax).states;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.stats.malformedStreams++;
      return null;
    }
  }

  /** memberlist mergeState: dead/suspect claims become suspicions, so the member gets to refute. */
  private mergeState(remote: readonly PushPullState[]): void {
    for (const s of remote) {
      switch (s.state) {
        case MemberState.Alive:
          this.aliveNode({ type: 'alive', incarnation: s.incarnation, node: s.name, addr: s.addr, meta: s.meta });
          break;
        case MemberState.Left:
          this.deadNode({ type: 'dead', incarnation: s.incarnation, node: s.name, from: s.name });
          break;
        default:
          this.suspectNode({ type: 'suspect', incarnation: s.incarnation, node: s.name, from: this.self.name });
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private reapDead(): void {
    this.table.reap((m) => m.state >= MemberState.Dead && this.now - m.stateChangeMs > this.config.deadMemberRetainMs);
  }

  private emit(kind: MemberEventKind, m: MemberRecord): void {
    if (this.outEvents.length >= this.config.outboxEventsMax) {
      this.outEvents.shift();
      this.stats.droppedEvents++;
    }
    this.outEvents.push({ kind, member: viewOf(m), atMs: this.now });
  }

  private encodeMetaChecked(meta: MemberMeta): Uint8Array {
    try {
      return encodeMeta(meta, this.config.metaBytesMax);
    } catch (e) {
      if (e instanceof MetaTooLargeError || e instanceof WireError) throw new InvalidArgumentError(e.message);
      throw e;
    }
  }
}
