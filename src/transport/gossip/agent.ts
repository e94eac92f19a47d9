import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { AbortedError, SeededRandom, StoppedError, systemClock } from '../../common/index.js';
import type { Clock, Random } from '../../common/index.js';
import type { GossipConfig, GossipCore as GossipCoreType, GossipStats, MemberEvent, MemberMeta, MemberView } from '../../gossip/index.js';
import { ENCRYPTION_OVERHEAD_BYTES } from './keyring.js';
import type { Keyring } from './keyring.js';
import { encodeFrame, readFrame } from './frame.js';
import { GossipTransportError } from './errors.js';

/** The core class is injected (transport may only import gossip types); the node layer passes GossipCore. */
export type GossipCoreClass = new (
  input: Partial<GossipConfig> & Pick<GossipConfig, 'name' | 'advertiseAddr'>, random: Random, meta: MemberMeta, nowMs: number,
) => GossipCoreType;

export interface GossipAgentOptions {
  readonly core: GossipCoreClass;
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

export interface GossipAgentStats extends GossipStats {
  udpUndecryptable: number;
  /** Inbound push/pull streams under a key this member does not hold (also counted as refused). */
  streamsUndecryptable: number;
  udpOversized: number;
  streamsRefused: number;
  streamsFailed: number;
  sendErrors: number;
}

const UDP_BIND_ATTEMPTS = 8;
const EVENT_LOOP_SAMPLE_MS = 500;
const TIMER_MAX_MS = 1000;
const LEAVE_POLL_MS = 20;

export interface GossipAgentEvents {
  member: [MemberEvent];
  error: [Error];
}

/**
 * Runs a GossipCore on real time and sockets: UDP for probes and gossip, TCP for push/pull,
 * optional AES-256-GCM. Emits 'member' with every MemberEvent.
 */
export class GossipAgent extends EventEmitter<GossipAgentEvents> {
  private core: GossipCoreType | null = null;
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private loopMonitor: { histogram: IntervalHistogram; timer: NodeJS.Timeout } | null = null;
  private readonly inbound = new Set<Socket>();
  private readonly outbound = new Set<Socket>();
  private readonly streamWaiters = new Map<number, (ok: boolean) => void>();
  private readonly clock: Clock;
  private stopped = false;
  private advertised = '';
  private readonly counters = { udpUndecryptable: 0, streamsUndecryptable: 0, udpOversized: 0, streamsRefused: 0, streamsFailed: 0, sendErrors: 0 };

  constructor(private readonly opts: GossipAgentOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
  }

  get address(): string {
    return this.advertised;
  }

  get healthScore(): number {
    return this.core?.healthScore ?? 0;
  }

  members(): MemberView[] {
    return this.core?.members() ?? [];
  }

  stats(): GossipAgentStats {
    const base = this.requireCore().stats;
    return { ...base, ...this.counters };
  }

  /** Binds UDP and TCP on one port and starts the protocol. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.core !== null || this.stopped) throw new StoppedError('gossip agent (start twice)');
    signal?.throwIfAborted();
    const host = this.opts.bindHost ?? '127.0.0.1';
    try {
      await this.bind(host, this.opts.port ?? 0, signal);
    } catch (e) {
      await this.stop();
      if (signal?.aborted === true) throw new AbortedError('gossip start aborted', { cause: e });
      throw e instanceof GossipTransportError ? e : new GossipTransportError(`gossip bind failed: ${String(e)}`, { cause: e });
    }
    const port = (this.tcp?.address() as { port: number }).port;
    const adv = this.opts.advertiseHost ?? host;
    this.advertised = adv.includes(':') ? `[${adv}]:${port}` : `${adv}:${port}`;
    const packetBytesMax = (this.opts.config?.packetBytesMax ?? 1400) - (this.opts.keyring ? ENCRYPTION_OVERHEAD_BYTES : 0);
    const random = this.opts.random ?? new SeededRandom((Math.random() * 2 ** 32) >>> 0);
    this.core = new this.opts.core(
      { ...this.opts.config, packetBytesMax, name: this.opts.name, advertiseAddr: this.advertised }, random, this.opts.meta, this.clock.nowMs(),
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
      await new Promise((r) => setTimeout(r, LEAVE_POLL_MS));
    }
    return core.isLeaveComplete();
  }

  /** Closes sockets and timers without telling anyone (peers will detect us as dead). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.loopMonitor !== null) {
      clearInterval(this.loopMonitor.timer);
      this.loopMonitor.histogram.disable();
      this.loopMonitor = null;
    }
    for (const s of [...this.inbound, ...this.outbound]) s.destroy();
    for (const resolve of this.streamWaiters.values()) resolve(false);
    this.streamWaiters.clear();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    await Promise.all([
      udp === null ? undefined : new Promise<void>((r) => udp.close(() => r())),
      tcp === null ? undefined : new Promise<void>((r) => tcp.close(() => r())),
    ]);
  }

  // ---------------------------------------------------------------- sockets

  private async bind(host: string, port: number, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const tcp = createServer((s) => this.onInbound(s));
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port, exclusive: true }, () => resolve());
      });
      const chosen = (tcp.address() as { port: number }).port;
      const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: host, port: chosen, exclusive: true }, () => resolve());
        });
      } catch (e) {
        udp.close();
        await new Promise<void>((r) => tcp.close(() => r()));
        // With port 0 the UDP twin of the chosen TCP port may be taken: pick another.
        if (port === 0 && attempt < UDP_BIND_ATTEMPTS) continue;
        throw new GossipTransportError(`cannot bind gossip UDP ${host}:${chosen}`, { cause: e });
      }
      udp.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
      udp.on('error', (e) => this.emit('error', e));
      tcp.on('error', (e) => this.emit('error', e));
      this.tcp = tcp;
      this.udp = udp;
      return;
    }
  }

  private onPacket(msg: Buffer, rinfo: RemoteInfo): void {
    const core = this.core;
    if (core === null || this.stopped) return;
    const sealedMax = core.config.packetBytesMax + (this.opts.keyring ? ENCRYPTION_OVERHEAD_BYTES : 0);
    if (msg.length > sealedMax) {
      this.counters.udpOversized++;
      return;
    }
    let bytes: Uint8Array | null = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    if (this.opts.keyring !== undefined) bytes = this.opts.keyring.decrypt(bytes);
    if (bytes === null) {
      this.counters.udpUndecryptable++;
      return;
    }
    const from = rinfo.family === 'IPv6' ? `[${rinfo.address}]:${rinfo.port}` : `${rinfo.address}:${rinfo.port}`;
    if (this.opts.linkUp?.(from) === false) return;
    core.handlePacket(from, bytes, this.clock.nowMs());
    this.pump();
  }

  private sendPacket(to: string, bytes: Uint8Array): void {
    const udp = this.udp;
    const hp = splitHostPort(to);
    if (udp === null || hp === null || this.opts.linkUp?.(to) === false) return;
    const sealed = this.opts.keyring?.encrypt(bytes) ?? bytes;
    udp.send(sealed, hp.port, hp.host, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  /** Server side of push/pull: one frame in, one frame out. */
  private onInbound(socket: Socket): void {
    const core = this.core;
    if (core === null || this.stopped || this.inbound.size >= (this.opts.inboundStreamsMax ?? 128)) {
      this.counters.streamsRefused++;
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setTimeout(this.opts.tcpTimeoutMs ?? 10_000, () => socket.destroy());
    socket.on('close', () => this.inbound.delete(socket));
    socket.on('error', () => socket.destroy());
    readFrame(socket, this.streamLimit()).then((payload) => {
      const plain = this.opts.keyring ? this.opts.keyring.decrypt(payload) : payload;
      if (plain === null) this.counters.streamsUndecryptable++;
      const reply = plain === null ? null : core.handleStream(`${socket.remoteAddress}:${socket.remotePort}`, plain, this.clock.nowMs());
      if (reply === null) {
        this.counters.streamsRefused++;
        socket.destroy();
      } else {
        socket.end(encodeFrame(this.opts.keyring?.encrypt(reply) ?? reply));
      }
      this.pump();
    }, () => {
      this.counters.streamsRefused++;
      socket.destroy();
    });
  }

  /** Client side of push/pull. */
  private runStream(id: number, to: string, bytes: Uint8Array): void {
    const hp = splitHostPort(to);
    const finish = (reply: Uint8Array | null): void => {
      const core = this.core;
      let ok = false;
      if (core !== null && !this.stopped) {
        if (reply === null) core.streamFailed(id);
        else ok = core.handleStreamReply(id, reply, this.clock.nowMs());
        if (!ok) this.counters.streamsFailed++;
        this.pump();
      }
      this.streamWaiters.get(id)?.(ok);
      this.streamWaiters.delete(id);
    };
    if (hp === null) {
      finish(null);
      return;
    }
    if (this.opts.linkUp?.(to) === false) {
      setTimeout(() => finish(null), this.opts.tcpTimeoutMs ?? 10_000).unref();
      return;
    }
    const socket = connect({ host: hp.host, port: hp.port });
    this.outbound.add(socket);
    socket.setTimeout(this.opts.tcpTimeoutMs ?? 10_000, () => socket.destroy(new Error('push/pull timed out')));
    socket.on('close', () => this.outbound.delete(socket));
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(encodeFrame(this.opts.keyring?.encrypt(bytes) ?? bytes)));
    readFrame(socket, this.streamLimit()).then((payload) => {
      socket.destroy();
      finish(this.opts.keyring ? this.opts.keyring.decrypt(payload) : payload);
    }, () => {
      socket.destroy();
      finish(null);
    });
  }

  private streamLimit(): number {
    return (this.core?.config.streamBytesMax ?? 0) + ENCRYPTION_OVERHEAD_BYTES;
  }

  // ---------------------------------------------------------------- the loop

  /** Runs due timers, performs what the core asks, and sleeps until its next deadline. */
  private pump(): void {
    const core = this.core;
    if (core === null || this.stopped) return;
    core.tick(this.clock.nowMs());
    const r = core.ready();
    for (const p of r.packets) this.sendPacket(p.to, p.bytes);
    for (const s of r.streams) this.runStream(s.id, s.to, s.bytes);
    for (const e of r.events) this.emit('member', e);
    if (this.timer !== null) clearTimeout(this.timer);
    const waitMs = Math.min(TIMER_MAX_MS, Math.max(0, core.nextDeadlineMs() - this.clock.nowMs()));
    this.timer = setTimeout(() => this.pump(), Math.ceil(waitMs));
    this.timer.unref();
  }

  private startLoopMonitor(): void {
    const histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    const timer = setInterval(() => {
      const maxMs = histogram.max / 1e6;
      histogram.reset();
      this.core?.noteLocalDelay(maxMs);
    }, EVENT_LOOP_SAMPLE_MS);
    timer.unref();
    this.loopMonitor = { histogram, timer };
  }

  private requireCore(): GossipCoreType {
    if (this.core === null || this.stopped) throw new StoppedError('gossip agent');
    return this.core;
  }
}

function splitHostPort(addr: string): { host: string; port: number } | null {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(addr);
  if (m === null) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1] as string, port } : null;
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
