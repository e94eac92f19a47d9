import { SeededRandom } from '../../../src/common/random.js';
import { GossipCore } from '../../../src/gossip/index.js';
import type { GossipConfig, MemberEvent, MemberMeta } from '../../../src/gossip/index.js';
import { EventHeap } from './heap.js';

/**
 * Deterministic simulation of many gossip cores in one process: simulated time, a lossy network with
 * per-packet delay, partitions, crashed members (silent) and stalled members (process nothing for a
 * while, then handle everything that queued up, as a blocked event loop does).
 */
export interface SimNetworkOptions {
  readonly seed: number;
  /** Independent loss probability of each UDP datagram. */
  readonly lossRate?: number;
  readonly delayMinMs?: number;
  readonly delayMaxMs?: number;
  /** Config overrides applied to every core. */
  readonly config?: Partial<Omit<GossipConfig, 'name' | 'advertiseAddr'>>;
}

export interface SimNode {
  readonly name: string;
  readonly addr: string;
  readonly core: GossipCore;
  crashed: boolean;
  stalledUntilMs: number;
  tickAtMs: number;
  bytesSent: number;
  packetsSent: number;
}

type SimEvent =
  | { at: number; seq: number; kind: 'tick'; node: SimNode }
  | { at: number; seq: number; kind: 'packet'; node: SimNode; from: string; bytes: Uint8Array }
  | { at: number; seq: number; kind: 'streamReq'; node: SimNode; client: SimNode; id: number; bytes: Uint8Array }
  | { at: number; seq: number; kind: 'streamReply'; node: SimNode; id: number; bytes: Uint8Array | null };

export function simMeta(name: string): MemberMeta {
  return { nodeId: name, raftAddr: `10.0.0.1:${name}`, grpcAddr: `10.0.0.1:g${name}`, version: '0.1.0', tags: {} };
}

export class SimCluster {
  nowMs = 0;
  readonly nodes: SimNode[] = [];
  readonly byAddr = new Map<string, SimNode>();
  readonly events: { node: string; event: MemberEvent }[] = [];
  /** Optional listener for member events (keeps the log small in long runs). */
  onEvent: ((node: SimNode, e: MemberEvent) => void) | null = null;
  keepEventLog = true;
  private readonly heap = new EventHeap<SimEvent>();
  private readonly net: SeededRandom;
  private seq = 0;
  private groups: Map<string, number> | null = null;
  /** May be changed mid-run. */
  lossRate: number;
  private readonly delayMinMs: number;
  private readonly delayMaxMs: number;

  constructor(private readonly opts: SimNetworkOptions) {
    this.net = new SeededRandom(opts.seed);
    this.lossRate = opts.lossRate ?? 0;
    this.delayMinMs = opts.delayMinMs ?? 1;
    this.delayMaxMs = opts.delayMaxMs ?? 5;
  }

  addNode(name: string): SimNode {
    const addr = `${name}:7946`;
    const core = new GossipCore({ ...this.opts.config, name, advertiseAddr: addr }, this.net.fork(), simMeta(name), this.nowMs);
    const node: SimNode = { name, addr, core, crashed: false, stalledUntilMs: 0, tickAtMs: Infinity, bytesSent: 0, packetsSent: 0 };
    this.nodes.push(node);
    this.byAddr.set(addr, node);
    this.schedule(node);
    return node;
  }

  /** A crashed member comes back with the same name and address but a fresh core (incarnation 1). */
  restart(old: SimNode): SimNode {
    const i = this.nodes.indexOf(old);
    old.crashed = true;
    const core = new GossipCore({ ...this.opts.config, name: old.name, advertiseAddr: old.addr }, this.net.fork(), simMeta(old.name), this.nowMs);
    const node: SimNode = { name: old.name, addr: old.addr, core, crashed: false, stalledUntilMs: 0, tickAtMs: Infinity, bytesSent: 0, packetsSent: 0 };
    this.nodes[i] = node;
    this.byAddr.set(old.addr, node);
    this.schedule(node);
    return node;
  }

  node(name: string): SimNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  join(node: SimNode, seeds: readonly SimNode[]): void {
    node.core.join(seeds.map((s) => s.addr));
    this.drain(node);
  }

  crash(node: SimNode): void {
    node.crashed = true;
  }

  stall(node: SimNode, durationMs: number): void {
    node.stalledUntilMs = this.nowMs + durationMs;
  }

  /** Members in different groups cannot reach each other; null heals. */
  partition(groups: readonly (readonly SimNode[])[] | null): void {
    if (groups === null) {
      this.groups = null;
      return;
    }
    this.groups = new Map();
    groups.forEach((g, i) => g.forEach((n) => this.groups?.set(n.addr, i)));
  }

  runFor(ms: number): void {
    this.runUntil(this.nowMs + ms);
  }

  runUntil(tMs: number): void {
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.at > tMs) break;
      this.heap.pop();
      this.nowMs = e.at;
      this.process(e);
    }
    this.nowMs = tMs;
  }

  /** Runs until `done` holds (checked after every step of `stepMs`) or `limitMs` passes; returns the time or null. */
  runUntilTrue(done: () => boolean, limitMs: number, stepMs = 10): number | null {
    const end = this.nowMs + limitMs;
    while (this.nowMs < end) {
      if (done()) return this.nowMs;
      this.runFor(stepMs);
    }
    return done() ? this.nowMs : null;
  }

  private process(e: SimEvent): void {
    const node = e.node;
    if (node.crashed) {
      if (e.kind === 'streamReq') this.push({ at: this.nowMs + this.delay(), seq: 0, kind: 'streamReply', node: e.client, id: e.id, bytes: null });
      return;
    }
    if (this.nowMs < node.stalledUntilMs) {
      // A stalled process handles nothing; what arrived waits in its socket buffer.
      if (e.kind === 'tick') {
        if (e.at !== node.tickAtMs) return;
        node.tickAtMs = node.stalledUntilMs;
      }
      this.push({ ...e, at: node.stalledUntilMs, seq: 0 });
      return;
    }
    const core = node.core;
    switch (e.kind) {
      case 'tick':
        if (e.at !== node.tickAtMs) return;
        node.tickAtMs = Infinity;
        core.tick(this.nowMs);
        break;
      case 'packet':
        core.handlePacket(e.from, e.bytes, this.nowMs);
        core.tick(this.nowMs);
        break;
      case 'streamReq': {
        const reply = core.handleStream(e.client.addr, e.bytes, this.nowMs);
        if (reply !== null) node.bytesSent += reply.length;
        this.push({ at: this.nowMs + this.delay(), seq: 0, kind: 'streamReply', node: e.client, id: e.id, bytes: this.reachable(node.addr, e.client.addr) ? reply : null });
        break;
      }
      case 'streamReply':
        if (e.bytes === null) core.streamFailed(e.id);
        else core.handleStreamReply(e.id, e.bytes, this.nowMs);
        break;
    }
    this.drain(node);
  }

  private drain(node: SimNode): void {
    const r = node.core.ready();
    for (const p of r.packets) {
      node.bytesSent += p.bytes.length;
      node.packetsSent++;
      const to = this.byAddr.get(p.to);
      if (to === undefined || !this.reachable(node.addr, p.to)) continue;
      if (this.lossRate > 0 && this.net.float() < this.lossRate) continue;
      this.push({ at: this.nowMs + this.delay(), seq: 0, kind: 'packet', node: to, from: node.addr, bytes: p.bytes });
    }
    for (const s of r.streams) {
      node.bytesSent += s.bytes.length;
      const to = this.byAddr.get(s.to);
      if (to === undefined || !this.reachable(node.addr, s.to)) {
        this.push({ at: this.nowMs + this.delay(), seq: 0, kind: 'streamReply', node, id: s.id, bytes: null });
        continue;
      }
      this.push({ at: this.nowMs + this.delay(), seq: 0, kind: 'streamReq', node: to, client: node, id: s.id, bytes: s.bytes });
    }
    for (const ev of r.events) {
      if (this.keepEventLog) this.events.push({ node: node.name, event: ev });
      this.onEvent?.(node, ev);
    }
    this.schedule(node);
  }

  private schedule(node: SimNode): void {
    const at = Math.max(this.nowMs, node.core.nextDeadlineMs());
    if (at < node.tickAtMs) {
      node.tickAtMs = at;
      this.push({ at, seq: 0, kind: 'tick', node });
    }
  }

  private push(e: SimEvent): void {
    e.seq = ++this.seq;
    this.heap.push(e);
  }

  private reachable(a: string, b: string): boolean {
    if (this.groups === null) return true;
    return this.groups.get(a) === this.groups.get(b);
  }

  private delay(): number {
    return this.delayMinMs + this.net.float() * (this.delayMaxMs - this.delayMinMs);
  }
}
