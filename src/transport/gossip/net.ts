import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { parseHostPort, formatHostPort, type HostPort } from '../../common/host-port.js';
import { ENCRYPTION_OVERHEAD_BYTES } from './keyring.js';
import type { Keyring } from './keyring.js';
import { encodeFrame, readFrame } from './frame.js';
import { GossipTransportError } from './errors.js';

/** What the gossip driver (src/node/gossip-agent.ts) hands the network and gets back from it. */
export interface GossipNetHandlers {
  /** A datagram that passed the size limit and decryption. */
  onPacket(from: string, bytes: Uint8Array): void;
  /** One inbound push/pull request; the reply, or null to refuse it. */
  onStream(from: string, bytes: Uint8Array): Uint8Array | null;
  onError(err: Error): void;
}

/** The gossip network port: datagrams for probes and gossip, request/reply streams for push/pull. */
export interface GossipNetwork {
  /** "host:port" others reach us at; set once started. */
  readonly address: string;
  start(handlers: GossipNetHandlers, signal?: AbortSignal): Promise<void>;
  sendPacket(to: string, bytes: Uint8Array): void;
  /** One push/pull exchange; null when it failed or timed out. */
  pushPull(to: string, bytes: Uint8Array): Promise<Uint8Array | null>;
  stop(): Promise<void>;
  readonly counters: GossipNetCounters;
}

export interface GossipNetCounters {
  udpUndecryptable: number;
  /** Inbound push/pull streams under a key this member does not hold (also counted as refused). */
  streamsUndecryptable: number;
  udpOversized: number;
  streamsRefused: number;
  sendErrors: number;
}

export interface UdpGossipNetOptions {
  /** Loopback or a private interface address; UDP and TCP bind the same port. */
  readonly bindHost: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Address peers should use, if not bindHost. */
  readonly advertiseHost?: string | undefined;
  readonly keyring?: Keyring | undefined;
  /** Largest plaintext datagram (the core's packetBytesMax). */
  readonly packetBytesMax: number;
  /** Largest plaintext push/pull payload (the core's streamBytesMax). */
  readonly streamBytesMax: number;
  /** Connect + exchange deadline of one push/pull (memberlist TCPTimeout). */
  readonly tcpTimeoutMs: number;
  /** Inbound push/pull connections served at once; more are refused. */
  readonly inboundStreamsMax: number;
  /** Test hook: see GossipAgentOptions.linkUp. */
  readonly linkUp?: ((peerAddr: string) => boolean) | undefined;
}

const UDP_BIND_ATTEMPTS = 8;

/**
 * Gossip over real sockets: UDP (node:dgram) for probes and piggybacked gossip, TCP (node:net) for
 * push/pull anti-entropy and joins, optional AES-256-GCM keyring. No protocol here: the driver in
 * src/node runs the pure core and calls this port.
 */
export class UdpGossipNet implements GossipNetwork {
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private handlers: GossipNetHandlers | null = null;
  private readonly inbound = new Set<Socket>();
  private readonly outbound = new Set<Socket>();
  private advertised = '';
  private stopped = false;
  readonly counters: GossipNetCounters = { udpUndecryptable: 0, streamsUndecryptable: 0, udpOversized: 0, streamsRefused: 0, sendErrors: 0 };

  constructor(private readonly opts: UdpGossipNetOptions) {}

  get address(): string {
    return this.advertised;
  }

  async start(handlers: GossipNetHandlers, signal?: AbortSignal): Promise<void> {
    this.handlers = handlers;
    await this.bind(this.opts.bindHost, this.opts.port, signal);
    const port = (this.tcp?.address() as { port: number }).port;
    this.advertised = formatHostPort(this.opts.advertiseHost ?? this.opts.bindHost, port);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of [...this.inbound, ...this.outbound]) s.destroy();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    await Promise.all([
      udp === null ? undefined : new Promise<void>((r) => udp.close(() => r())),
      tcp === null ? undefined : new Promise<void>((r) => tcp.close(() => r())),
    ]);
  }

  sendPacket(to: string, bytes: Uint8Array): void {
    const udp = this.udp;
    const hp = dialable(to);
    if (udp === null || hp === null || this.opts.linkUp?.(to) === false) return;
    const sealed = this.opts.keyring?.encrypt(bytes) ?? bytes;
    udp.send(sealed, hp.port, hp.host, (err) => {
      if (err) this.counters.sendErrors++;
    });
  }

  pushPull(to: string, bytes: Uint8Array): Promise<Uint8Array | null> {
    const hp = dialable(to);
    if (hp === null || this.stopped) return Promise.resolve(null);
    if (this.opts.linkUp?.(to) === false) {
      // A cut link: the exchange fails only once the TCP timeout runs out, as on a real network.
      return new Promise((resolve) => setTimeout(() => resolve(null), this.opts.tcpTimeoutMs).unref());
    }
    const socket = connect({ host: hp.host, port: hp.port });
    this.outbound.add(socket);
    socket.setTimeout(this.opts.tcpTimeoutMs, () => socket.destroy(new Error('push/pull timed out')));
    socket.on('close', () => this.outbound.delete(socket));
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(encodeFrame(this.opts.keyring?.encrypt(bytes) ?? bytes)));
    return readFrame(socket, this.streamLimit()).then(
      (payload) => {
        socket.destroy();
        return this.opts.keyring ? this.opts.keyring.decrypt(payload) : payload;
      },
      () => {
        socket.destroy();
        return null;
      },
    );
  }

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
      udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
      udp.on('error', (e) => this.handlers?.onError(e));
      tcp.on('error', (e) => this.handlers?.onError(e));
      this.tcp = tcp;
      this.udp = udp;
      return;
    }
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const handlers = this.handlers;
    if (handlers === null || this.stopped) return;
    const sealedMax = this.opts.packetBytesMax + (this.opts.keyring ? ENCRYPTION_OVERHEAD_BYTES : 0);
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
    const from = formatHostPort(rinfo.address, rinfo.port);
    if (this.opts.linkUp?.(from) === false) return;
    handlers.onPacket(from, bytes);
  }

  /** Server side of push/pull: one frame in, one frame out. */
  private onInbound(socket: Socket): void {
    const handlers = this.handlers;
    if (handlers === null || this.stopped || this.inbound.size >= this.opts.inboundStreamsMax) {
      this.counters.streamsRefused++;
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setTimeout(this.opts.tcpTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.inbound.delete(socket));
    socket.on('error', () => socket.destroy());
    readFrame(socket, this.streamLimit()).then((payload) => {
      const plain = this.opts.keyring ? this.opts.keyring.decrypt(payload) : payload;
      if (plain === null) this.counters.streamsUndecryptable++;
      const reply = plain === null || this.stopped ? null : handlers.onStream(formatHostPort(socket.remoteAddress ?? '', socket.remotePort ?? 0), plain);
      if (reply === null) {
        this.counters.streamsRefused++;
        socket.destroy();
      } else {
        socket.end(encodeFrame(this.opts.keyring?.encrypt(reply) ?? reply));
      }
    }, () => {
      this.counters.streamsRefused++;
      socket.destroy();
    });
  }

  private streamLimit(): number {
    return this.opts.streamBytesMax + ENCRYPTION_OVERHEAD_BYTES;
  }
}

/** A peer's gossip address, or null if it cannot be dialled (the core got it from the network). */
function dialable(addr: string): HostPort | null {
  try {
    return parseHostPort(addr);
  } catch {
    return null;
  }
}
