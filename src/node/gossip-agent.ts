import { EventEmitter } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { AbortedError, SeededRandom, StoppedError, systemClock, systemTimers } from '../common/index.js';
import type { Clock, Random, Timer, Timers } from '../common/index.js';
import { LAN_DEFAULTS, GossipCore } from '../gossip/index.js';
import type { GossipConfig, GossipStats, MemberEvent, MemberMeta, MemberView } from '../gossip/index.js';
import { ENCRYPTION_OVERHEAD_BYTES, GossipTransportError, UdpGossipNet } from '../transport/gossip/index.js';
import type { GossipNetCounters, GossipNetwork, Keyring } from '../transport/gossip/index.js';

export interface GossipAgentOptions {
  readonly name: string;
  readonly meta: MemberMeta;
  /** Loopback or a private interface address; UDP and TCP bind the same port. */
  readonly bindHost?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Address peers should use, if not bindHost. */
  readonly advertiseHost?: string;
  readonly config?: Partial<Omit<GossipConfig, 'name' | 'advertiseAddr'>>;
  readonly keyring?: Keyring;
  readonly random?: Random;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** The network port; default: UDP + TCP sockets on bindHost:port (UdpGossipNet). */
  readonly network?: GossipNetwork;
  /** Connect + exchange deadline of one push/pull (memberlist TCPTimeout). */
  readonly tcpTimeoutMs?: number;
  /** Inbound push/pull connections served at once; more are refused. */
  readonly inboundStreamsMax?: number;
  /** Feed event-loop delay to the core's health score (Lifeguard); default true. */
  readonly monitorEventLoop?: boolean;
  /**
   * Test hook (fault injection on loopback): when it returns false for a peer's gossip address, we
   * drop every datagram to and from that peer, and push/pulls we start with it fail after the TCP
   * timeout, as with a network cut that drops packets. Inbound push/pulls come from ephemeral ports
   * and are not filtered, so cut both sides (every agent gets the same predicate's view).
   */
  readonly linkUp?: (peerAddr: string) => boolean;
}

export interface GossipAgentStats extends GossipStats, GossipNetCounters {
  streamsFailed: number;
}

export interface GossipAgentEvents {
  member: [MemberEvent];
  error: [Error];
}

const EVENT_LOOP_SAMPLE_MS = 500;
const TIMER_MAX_MS = 1000;
const LEAVE_POLL_MS = 20;
const TCP_TIMEOUT_MS_DEFAULT = 10_000;
const INBOUND_STREAMS_MAX_DEFAULT = 128;

/**
 * The gossip driver: runs the pure SWIM core (src/gossip) on the Clock and Timers ports and the
 * gossip network port (src/transport/gossip), as RaftDriver runs the raft core. Emits 'member' with
 * every MemberEvent.
 */
export class GossipAgent extends EventEmitter<GossipAgentEvents> {
  private core: GossipCore | null = null;
  private readonly net: GossipNetwork;
  private timer: Timer | null = null;
  private loopMonitor: { histogram: IntervalHistogram; timer: Timer } | null = null;
  private readonly streamWaiters = new Map<number, (ok: boolean) => void>();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private stopped = false;
  private streamsFailed = 0;

  constructor(private readonly opts: GossipAgentOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.timers = opts.timers ?? systemTimers;
    const packetBytesMax = this.packetBytesMax();
    this.net = opts.network ?? new UdpGossipNet({
      bindHost: opts.bindHost ?? '127.0.0.1',
      port: opts.port ?? 0,
      advertiseHost: opts.advertiseHost,
      keyring: opts.keyring,
      packetBytesMax,
      streamBytesMax: opts.config?.streamBytesMax ?? LAN_DEFAULTS.streamBytesMax,
      tcpTimeoutMs: opts.tcpTimeoutMs ?? TCP_TIMEOUT_MS_DEFAULT,
      inboundStreamsMax: opts.inboundStreamsMax ?? INBOUND_STREAMS_MAX_DEFAULT,
      linkUp: opts.linkUp,
    });
  }

  get address(): string {
    return this.net.address;
  }

  get healthScore(): number {
    return this.core?.healthScore ?? 0;
  }

  members(): MemberView[] {
    return this.core?.members() ?? [];
  }

  stats(): GossipAgentStats {
    const base = this.requireCore().stats;
    return { ...base, ...this.net.counters, streamsFailed: this.streamsFailed };
  }

  /** Binds the network and starts the protocol. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.core !== null || this.stopped) throw new StoppedError('gossip agent (start twice)');
    signal?.throwIfAborted();
    try {
      await this.net.start({ onPacket: (from, b) => this.onPacket(from, b), onStream: (from, b) => this.onStream(from, b), onError: (e) => this.emit('error', e) }, signal);
    } catch (e) {
      await this.stop();
      if (signal?.aborted === true) throw new AbortedError('gossip start aborted', { cause: e });
      throw e instanceof GossipTransportError ? e : new GossipTransportError(`gossip bind failed: ${String(e)}`, { cause: e });
    }
    const random = this.opts.random ?? new SeededRandom((Math.random() * 2 ** 32) >>> 0);
    this.core = new GossipCore(
      { ...this.opts.config, packetBytesMax: this.packetBytesMax(), name: this.opts.name, advertiseAddr: this.net.address }, random, this.opts.meta, this.clock.nowMs(),
    );
    if (this.opts.monitorEventLoop !== false) this.startLoopMonitor();
    this.pump();
  }

  /** Push/pull with every seed; resolves with how many answered (0 means we are alone). */
  async join(seeds: readonly string[], signal?: AbortSignal): Promise<number> {
    const core = this.requireCore();
    const ids = core.join(seeds);
    const waits = ids.map((id) => new Promise<boolean>((resolve) => this.streamWaiters.set(id, resolve)));
    this.pump();
    const results = await abortable(Promise.all(waits), signal, 'gossip join aborted');
    return results.filter(Boolean).length;
  }

  /** New metadata (higher incarnation); throws InvalidArgumentError beyond the size limit. */
  updateMeta(meta: MemberMeta): void {
    this.requireCore().updateMeta(meta);
    this.pump();
  }

  /** Graceful leave: returns once peers have been told (or after timeoutMs). Call stop() next. */
  async leave(timeoutMs = 5000, signal?: AbortSignal): Promise<boolean> {
    const core = this.requireCore();
    core.leave();
    this.pump();
    const deadline = this.clock.nowMs() + timeoutMs;
    while (!core.isLeaveComplete() && this.clock.nowMs() < deadline && !this.stopped) {
      signal?.throwIfAborted();
      await new Promise<void>((r) => this.timers.after(LEAVE_POLL_MS, r));
    }
    return core.isLeaveComplete();
  }

  /** Closes the network and timers without telling anyone (peers will detect us as dead). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    if (this.loopMonitor !== null) {
      this.loopMonitor.timer.cancel();
      this.loopMonitor.histogram.disable();
      this.loopMonitor = null;
    }
    for (const resolve of this.streamWaiters.values()) resolve(false);
    this.streamWaiters.clear();
    await this.net.stop();
  }

  private packetBytesMax(): number {
    const configured = this.opts.config?.packetBytesMax ?? LAN_DEFAULTS.packetBytesMax;
    return configured - (this.opts.keyring ? ENCRYPTION_OVERHEAD_BYTES : 0);
  }

  private onPacket(from: string, bytes: Uint8Array): void {
    const core = this.core;
    if (core === null || this.stopped) return;
    core.handlePacket(from, bytes, this.clock.nowMs());
    this.pump();
  }

  private onStream(from: string, bytes: Uint8Array): Uint8Array | null {
    const core = this.core;
    if (core === null || this.stopped) return null;
    const reply = core.handleStream(from, bytes, this.clock.nowMs());
    this.pump();
    return reply;
  }

  /** Client side of push/pull: the core learns the outcome; join() waiters too. */
  private runStream(id: number, to: string, bytes: Uint8Array): void {
    void this.net.pushPull(to, bytes).then((reply) => {
      const core = this.core;
      let ok = false;
      if (core !== null && !this.stopped) {
        if (reply === null) core.streamFailed(id);
        else ok = core.handleStreamReply(id, reply, this.clock.nowMs());
        if (!ok) this.streamsFailed++;
        this.pump();
      }
      this.streamWaiters.get(id)?.(ok);
      this.streamWaiters.delete(id);
    });
  }

  /** Runs due timers, performs what the core asks, and sleeps until its next deadline. */
  private pump(): void {
    const core = this.core;
    if (core === null || this.stopped) return;
    core.tick(this.clock.nowMs());
    const r = core.ready();
    for (const p of r.packets) this.net.sendPacket(p.to, p.bytes);
    for (const s of r.streams) this.runStream(s.id, s.to, s.bytes);
    for (const e of r.events) this.emit('member', e);
    this.timer?.cancel();
    const waitMs = Math.min(TIMER_MAX_MS, Math.max(0, core.nextDeadlineMs() - this.clock.nowMs()));
    this.timer = this.timers.after(Math.ceil(waitMs), () => this.pump(), { background: true });
  }

  private startLoopMonitor(): void {
    const histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    const timer = this.timers.every(EVENT_LOOP_SAMPLE_MS, () => {
      const maxMs = histogram.max / 1e6;
      histogram.reset();
      this.core?.noteLocalDelay(maxMs);
    }, { background: true });
    this.loopMonitor = { histogram, timer };
  }

  private requireCore(): GossipCore {
    if (this.core === null || this.stopped) throw new StoppedError('gossip agent');
    return this.core;
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }, (e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
}
