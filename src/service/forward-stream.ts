import { Metadata, status, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { OverloadedError } from '../common/errors.js';
import { FrameKind, decodeFrame, encodeFrame, type Frame } from './forward-frames.js';
import type { UnaryMethod } from './method.js';

/** The bidi method a leader serves forwarded calls on (forward-serve.ts); not in any .proto. */
export const FORWARD_STREAM_PATH = '/raftkv.internal.v1.Forward/Calls';
/** Calls one stream carries at once; the leader refuses more with OVERLOADED (forward-serve.ts). */
export const FORWARD_STREAM_CALLS_MAX = 1000;
/** After a leader answered UNIMPLEMENTED to the stream (an older version), unary calls for this long. */
const UNARY_ONLY_MS = 30_000;

const identity = (b: Buffer): Buffer => b;

/** A grpc-js-shaped error, so the router's retry rules and status mapping treat it like a unary call's. */
export function serviceError(code: status, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${status[code] ?? ''}: ${details}`), { code, details, metadata });
}

interface Pending {
  resolve(body: Buffer): void;
  reject(err: unknown): void;
  /** The leader does not serve the stream: send this call as a unary call instead. */
  retryUnary(): void;
}

/** One follower→leader stream: calls go out as frames with ids, answers come back in any order. */
class ForwardStream {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private readonly call: ClientDuplexStream<Buffer, Buffer>;
  closed = false;

  constructor(
    client: Client,
    md: Metadata,
    private readonly onClose: (err: ServiceError) => void,
  ) {
    this.call = client.makeBidiStreamRequest(FORWARD_STREAM_PATH, identity, identity, md, {});
    this.call.on('data', (b: Buffer) => this.onData(b));
    this.call.on('error', (e: ServiceError) => this.close(e));
    // The leader ended the stream (it is shutting down): calls still out may or may not have run.
    this.call.on('end', () => this.close(serviceError(status.UNAVAILABLE, 'the leader closed the forwarding stream before answering')));
  }

  send<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal: AbortSignal, md: Metadata | undefined, unary: () => Promise<Res>): Promise<Res> {
    if (this.pending.size >= FORWARD_STREAM_CALLS_MAX) return Promise.reject(new OverloadedError('forwarding stream', FORWARD_STREAM_CALLS_MAX));
    this.nextId = (this.nextId % 0xffff_fffe) + 1;
    const id = this.nextId;
    return new Promise<Res>((resolve, reject) => {
      const done = (): void => {
        this.pending.delete(id);
        signal.removeEventListener('abort', onAbort);
        clearTimeout(timer);
      };
      const onAbort = (): void => {
        done();
        if (!this.closed) this.call.write(encodeFrame({ kind: FrameKind.Cancel, id }));
        reject(serviceError(status.CANCELLED, 'Cancelled on client'));
      };
      const onDeadline = (): void => {
        done();
        if (!this.closed) this.call.write(encodeFrame({ kind: FrameKind.Cancel, id }));
        reject(serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
      };
      const timer = Number.isFinite(deadlineMs) ? setTimeout(onDeadline, Math.max(0, deadlineMs - Date.now())) : undefined;
      this.pending.set(id, {
        resolve: (body) => {
          done();
          try {
            resolve(method.responseDeserialize(body));
          } catch (e) {
            reject(e);
          }
        },
        reject: (err) => {
          done();
          reject(err);
        },
        retryUnary: () => {
          done();
          unary().then(resolve, reject);
        },
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const metadata = md ? stringEntries(md) : [];
      this.call.write(encodeFrame({ kind: FrameKind.Call, id, deadlineMs, path: method.path, metadata, body: method.requestSerialize(req) }));
    });
  }

  private onData(b: Buffer): void {
    let f: Frame;
    try {
      f = decodeFrame(b);
    } catch (e) {
      this.call.cancel();
      this.close(serviceError(status.INTERNAL, `bad frame from the leader: ${(e as Error).message}`));
      return;
    }
    const p = this.pending.get(f.id);
    if (p === undefined) return; // cancelled here already
    if (f.kind === FrameKind.Ok) p.resolve(f.body);
    else if (f.kind === FrameKind.Error) p.reject(serviceError(f.code, f.details, toMetadata(f.metadata)));
  }

  /** Fail every call still out with the stream's error (an older leader: resend them unary). */
  private close(err: ServiceError): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(err);
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const p of calls) {
      if (err.code === status.UNIMPLEMENTED) p.retryUnary();
      else p.reject(err);
    }
  }

  end(): void {
    if (this.closed) return;
    this.call.cancel();
  }
}

/**
 * A follower's forwarded unary calls, multiplexed over one long-lived bidi stream per leader address
 * instead of one HTTP/2 stream (headers, deadline, status) per call: the leader runs each frame
 * through the same handler a unary call would reach (forward-serve.ts).
 */
export class ForwardStreams {
  private readonly streams = new Map<string, ForwardStream>();
  private readonly unaryUntilMs = new Map<string, number>();

  constructor(
    private readonly clientFor: (addr: string) => Client,
    /** Metadata of the stream itself (the forwarded mark: the TLS peer check applies to it). */
    private readonly streamMetadata: () => Metadata,
    private readonly unary: <Req, Res>(addr: string, method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal: AbortSignal, md?: Metadata) => Promise<Res>,
  ) {}

  call<Req, Res>(addr: string, method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal: AbortSignal, md?: Metadata): Promise<Res> {
    const viaUnary = (): Promise<Res> => this.unary(addr, method, req, deadlineMs, signal, md);
    if ((this.unaryUntilMs.get(addr) ?? 0) > Date.now()) return viaUnary();
    return this.streamTo(addr).send(method, req, deadlineMs, signal, md, viaUnary);
  }

  private streamTo(addr: string): ForwardStream {
    const s = this.streams.get(addr);
    if (s !== undefined && !s.closed) return s;
    const fresh: ForwardStream = new ForwardStream(this.clientFor(addr), this.streamMetadata(), (err) => {
      if (this.streams.get(addr) === fresh) this.streams.delete(addr);
      if (err.code === status.UNIMPLEMENTED) this.unaryUntilMs.set(addr, Date.now() + UNARY_ONLY_MS);
    });
    this.streams.set(addr, fresh);
    return fresh;
  }

  /** Close the stream to `addr` (its channel is going away). */
  drop(addr: string): void {
    this.streams.get(addr)?.end();
    this.streams.delete(addr);
  }

  close(): void {
    for (const addr of [...this.streams.keys()]) this.drop(addr);
  }
}

function stringEntries(md: Metadata): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, vs] of Object.entries(md.getMap())) {
    if (typeof vs === 'string') out.push([k, vs]);
  }
  return out;
}

export function toMetadata(entries: readonly [string, string][]): Metadata {
  const md = new Metadata();
  for (const [k, v] of entries) md.add(k, v);
  return md;
}
