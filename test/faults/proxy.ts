/**
 * Fault-injecting TCP proxies on loopback, the portable way to partition, delay and lose traffic
 * between real `raftkv serve` processes.
 *
 * - RaftProxy: one per destination node; every peer is told that this proxy is the node's raft
 *   address. Each raft connection starts with a Hello frame naming the dialer (`from`), so one proxy
 *   per destination still gives per-link control: the link is (hello.from → destination). In the
 *   dialer → listener direction it parses frames and can drop whole raft Message frames (loss that
 *   keeps the stream in sync, like a lost datagram); both directions can be delayed.
 * - LinkProxy: one per directed link for gRPC forwarding between nodes (each node's --peers points at
 *   its own link proxies), so a partition also stops a follower forwarding to the leader.
 *
 * Cut links lose their connections immediately and refuse new ones.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Random } from '../../src/common/random.js';
import type { LinkFaults, LinkTable } from './links.js';

/** Bytes a delay queue may hold before the proxy stops reading from the source (backpressure). */
const QUEUE_BYTES_MAX = 8 * 1024 * 1024;
/** A raft frame longer than this is not raft traffic (the transport's own limit is 8 MiB). */
const FRAME_BYTES_MAX = 16 * 1024 * 1024;
const FRAME_LENGTH_BYTES = 4;
const FRAME_HEADER_BYTES = 6;
const FRAME_KIND_HELLO = 1;
const FRAME_KIND_MESSAGE = 3;
/** Offset of the u64 `from` in a Hello frame: length(4) version(1) kind(1) lane(1). */
const HELLO_FROM_OFFSET = 7;

export interface ProxyStats {
  connections: number;
  refused: number;
  cutConnections: number;
  droppedFrames: number;
}

/** Splits a byte stream into raft frames: [u32 length][u8 version][u8 kind][payload]. */
export class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends bytes; returns complete frames; throws on a length no raft frame has. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buf.length < FRAME_LENGTH_BYTES) break;
      const total = FRAME_LENGTH_BYTES + this.buf.readUInt32BE(0);
      if (total > FRAME_BYTES_MAX || total < FRAME_HEADER_BYTES) throw new Error(`not a raft frame (${total} bytes)`);
      if (this.buf.length < total) break;
      frames.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
    return frames;
  }
}

export function frameKind(frame: Buffer): number {
  return frame[5] ?? 0;
}

/** The dialer's node id from a Hello frame, or null if the frame is not a hello. */
export function helloFrom(frame: Buffer): number | null {
  if (frameKind(frame) !== FRAME_KIND_HELLO || frame.length < HELLO_FROM_OFFSET + 8) return null;
  return frame.readUInt32BE(HELLO_FROM_OFFSET) * 2 ** 32 + frame.readUInt32BE(HELLO_FROM_OFFSET + 4);
}

/**
 * One direction of a proxied connection: chunks from `src` go to `dst` after the link's delay,
 * in order, with backpressure both from `dst` and from the delay queue's byte limit.
 */
class Pipe {
  private readonly queue: { atMs: number; data: Buffer }[] = [];
  private queuedBytes = 0;
  private lastAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private dstBlocked = false;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly faults: () => LinkFaults,
    private readonly random: Random,
  ) {
    dst.on('drain', () => {
      this.dstBlocked = false;
      this.flush();
    });
  }

  send(data: Buffer): void {
    if (this.dst.destroyed) return;
    const f = this.faults();
    const now = performance.now();
    const atMs = Math.max(this.lastAtMs, now + f.delayMs + (f.jitterMs > 0 ? this.random.float() * f.jitterMs : 0));
    this.lastAtMs = atMs;
    this.queue.push({ atMs, data });
    this.queuedBytes += data.length;
    if (this.queuedBytes > QUEUE_BYTES_MAX) this.src.pause();
    this.flush();
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const now = performance.now();
    while (!this.dstBlocked && this.queue.length > 0 && this.queue[0]!.atMs <= now) {
      const { data } = this.queue.shift()!;
      this.queuedBytes -= data.length;
      if (this.dst.destroyed) return;
      if (!this.dst.write(data)) this.dstBlocked = true;
    }
    if (this.queuedBytes <= QUEUE_BYTES_MAX / 2 && this.src.isPaused()) this.src.resume();
    const head = this.queue[0];
    if (!this.dstBlocked && head !== undefined) this.timer = setTimeout(() => this.flush(), Math.max(1, head.atMs - now));
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

interface Conn {
  readonly from: number;
  readonly to: number;
  readonly client: Socket;
  readonly upstream: Socket;
  readonly pipes: Pipe[];
}

/** Shared bookkeeping of live connections per link, so a cut can destroy them. */
abstract class ProxyBase {
  protected server: Server | null = null;
  protected readonly conns = new Set<Conn>();
  readonly stats: ProxyStats = { connections: 0, refused: 0, cutConnections: 0, droppedFrames: 0 };
  private readonly offCut: () => void;

  constructor(
    protected readonly links: LinkTable,
    protected readonly random: Random,
  ) {
    this.offCut = links.onCut((from, to) => {
      for (const c of this.conns) {
        if (c.from === from && c.to === to) {
          this.stats.cutConnections++;
          this.destroy(c);
        }
      }
    });
  }

  async listen(port = 0): Promise<number> {
    const server = createServer({ pauseOnConnect: false, noDelay: true }, (s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as { port: number }).port;
  }

  protected abstract accept(socket: Socket): void;

  protected destroy(c: Conn): void {
    for (const p of c.pipes) p.close();
    c.client.destroy();
    c.upstream.destroy();
    this.conns.delete(c);
  }

  /** Connects to the real address and wires both directions through delay pipes. */
  protected connect(client: Socket, from: number, to: number, upstreamPort: number, first: Buffer[]): Conn {
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
    const conn: Conn = { from, to, client, upstream, pipes: [] };
    const forward = new Pipe(client, upstream, () => this.links.get(from, to), this.random);
    const backward = new Pipe(upstream, client, () => this.links.get(to, from), this.random);
    conn.pipes.push(forward, backward);
    this.conns.add(conn);
    this.stats.connections++;
    const end = (): void => this.destroy(conn);
    upstream.on('error', end);
    upstream.on('close', end);
    client.on('close', end);
    upstream.on('data', (d: Buffer) => {
      if (this.links.get(to, from).cut) return end();
      backward.send(d);
    });
    for (const b of first) forward.send(b);
    return conn;
  }

  async close(): Promise<void> {
    this.offCut();
    for (const c of [...this.conns]) this.destroy(c);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Per-destination raft proxy; identifies the dialer from the Hello frame. */
export class RaftProxy extends ProxyBase {
  constructor(
    links: LinkTable,
    random: Random,
    readonly to: number,
    private readonly upstreamPort: number,
  ) {
    super(links, random);
  }

  protected accept(client: Socket): void {
    const splitter = new FrameSplitter();
    let conn: Conn | null = null;
    client.on('error', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = splitter.push(chunk);
      } catch {
        client.destroy();
        return;
      }
      if (conn === null) {
        if (frames.length === 0) return;
        const from = helloFrom(frames[0]!);
        if (from === null || this.links.get(from, this.to).cut) {
          this.stats.refused++;
          client.destroy();
          return;
        }
        conn = this.connect(client, from, this.to, this.upstreamPort, []);
      }
      const f = this.links.get(conn.from, this.to);
      if (f.cut) return this.destroy(conn);
      for (const frame of frames) {
        if (f.lossRate > 0 && frameKind(frame) === FRAME_KIND_MESSAGE && this.random.float() < f.lossRate) {
          this.stats.droppedFrames++;
          continue;
        }
        conn.pipes[0]!.send(frame);
      }
    });
  }
}

/** Per-directed-link byte proxy (gRPC between nodes): cut and delay, no loss. */
export class LinkProxy extends ProxyBase {
  constructor(
    links: LinkTable,
    random: Random,
    readonly from: number,
    readonly to: number,
    private readonly upstreamPort: number,
  ) {
    super(links, random);
  }

  protected accept(client: Socket): void {
    client.on('error', () => client.destroy());
    if (this.links.get(this.from, this.to).cut) {
      this.stats.refused++;
      client.destroy();
      return;
    }
    const conn = this.connect(client, this.from, this.to, this.upstreamPort, []);
    client.on('data', (d: Buffer) => {
      if (this.links.get(this.from, this.to).cut) return this.destroy(conn);
      conn.pipes[0]!.send(d);
    });
  }
}
