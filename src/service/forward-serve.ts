import { EventEmitter } from 'node:events';
import { status, type Metadata, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { NotLeaderError, OverloadedError } from '../common/errors.js';
import type { Logger } from 'pino';
import { FrameKind, decodeFrame, encodeFrame, type Frame } from './forward-frames.js';
import { FORWARDED_HEADER } from './forward.js';
import { FORWARD_STREAM_CALLS_MAX, FORWARD_STREAM_PATH, toMetadata } from './forward-stream.js';
import { toStatus } from './status.js';

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;

interface Target {
  readonly handler: UnaryHandler;
  readonly requestDeserialize: (b: Buffer) => unknown;
  readonly responseSerialize: (res: unknown) => Buffer;
}

interface MethodDef {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestDeserialize: (b: Buffer) => unknown;
  readonly responseSerialize: (res: never) => Buffer;
}

/** The unary handlers a forwarded frame may reach, by method path: every unary method the server serves. */
export class ForwardTargets {
  private readonly byPath = new Map<string, Target>();

  record(def: object, impl: object): void {
    for (const [key, m] of Object.entries(def as Record<string, MethodDef>)) {
      const handler = (impl as Record<string, unknown>)[key];
      if (m.requestStream || m.responseStream || typeof handler !== 'function') continue;
      this.byPath.set(m.path, { handler: handler as UnaryHandler, requestDeserialize: m.requestDeserialize, responseSerialize: m.responseSerialize as (res: unknown) => Buffer });
    }
  }

  get(path: string): Target | undefined {
    return this.byPath.get(path);
  }
}

/** The stream's service definition: raw frames both ways (forward-frames.ts). */
export const ForwardStreamService = {
  calls: {
    path: FORWARD_STREAM_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer): Buffer => b,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (b: Buffer): Buffer => b,
    responseDeserialize: (b: Buffer): Buffer => b,
  },
} as const;

/**
 * What a handler sees of a call that arrived as a frame: the parts of ServerUnaryCall that the
 * handlers and callScope use (request, metadata, deadline, cancellation, path, peer).
 */
class FramedCall extends EventEmitter {
  cancelled = false;

  constructor(
    readonly request: unknown,
    readonly metadata: Metadata,
    private readonly deadlineMs: number,
    private readonly path: string,
    private readonly outer: ServerDuplexStream<Buffer, Buffer>,
  ) {
    super();
  }

  getDeadline(): number {
    return this.deadlineMs;
  }

  getPath(): string {
    return this.path;
  }

  getPeer(): string {
    return this.outer.getPeer();
  }

  getAuthContext(): ReturnType<ServerDuplexStream<Buffer, Buffer>['getAuthContext']> {
    return this.outer.getAuthContext();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
  }
}

/**
 * The leader's end of the forwarding stream: each call frame runs through the method's own unary
 * handler (so a forwarded call is served exactly as a direct one marked forwarded would be), and its
 * answer goes back as a frame. At server shutdown the stream ends once its calls have answered.
 */
export function serveForwardStream(targets: ForwardTargets, shutdown: AbortSignal, logger: Logger): (call: ServerDuplexStream<Buffer, Buffer>) => void {
  return (call) => {
    const forwardedBy = call.metadata.get(FORWARDED_HEADER)[0];
    if (typeof forwardedBy !== 'string') {
      // Only members forward; requiring the mark also puts the stream under the TLS peer check.
      call.emit('error', { code: status.PERMISSION_DENIED, details: `${FORWARD_STREAM_PATH} is for members forwarding to the leader` });
      return;
    }
    const inflight = new Map<number, FramedCall>();
    let ending = false;
    const write = (f: Frame): void => {
      if (!call.cancelled && !call.destroyed && call.writable) call.write(encodeFrame(f));
    };
    // Ends with NO_LEADER, never OK: whatever the follower sent after the last answer did not run
    // here, and that code lets it retry those calls with the next leader.
    const maybeEnd = (): void => {
      if (ending && inflight.size === 0 && !call.cancelled && call.writable) call.emit('error', toStatus(shuttingDown()));
    };
    const refuse = (id: number, err: unknown): void => {
      const st = toStatus(err);
      write({ kind: FrameKind.Error, id, code: st.code, details: st.details, metadata: entries(st.metadata) });
    };

    const onFrame = (b: Buffer): void => {
      let f: Frame;
      try {
        f = decodeFrame(b);
      } catch (e) {
        logger.warn({ err: e, from: forwardedBy }, 'closing a forwarding stream: bad frame');
        call.emit('error', { code: status.INVALID_ARGUMENT, details: (e as Error).message });
        return;
      }
      if (f.kind === FrameKind.Cancel) return inflight.get(f.id)?.cancel();
      if (f.kind !== FrameKind.Call) return;
      // Refused before it ran: NO_LEADER is retryable, so the follower tries the next leader.
      if (ending) return refuse(f.id, shuttingDown());
      if (inflight.size >= FORWARD_STREAM_CALLS_MAX) return refuse(f.id, new OverloadedError('forwarding stream', FORWARD_STREAM_CALLS_MAX));
      const target = targets.get(f.path);
      if (target === undefined) {
        write({ kind: FrameKind.Error, id: f.id, code: status.UNIMPLEMENTED, details: `${f.path} is not served here`, metadata: [] });
        return;
      }
      const md = toMetadata(f.metadata);
      md.set(FORWARDED_HEADER, forwardedBy);
      const framed = new FramedCall(target.requestDeserialize(f.body), md, f.deadlineMs, f.path, call);
      const id = f.id;
      inflight.set(id, framed);
      target.handler(framed as unknown as ServerUnaryCall<unknown, unknown>, (err, res) => {
        inflight.delete(id);
        if (!framed.cancelled) {
          if (err) {
            const e = err as Partial<ServiceError>;
            write({ kind: FrameKind.Error, id, code: e.code ?? status.UNKNOWN, details: e.details ?? e.message ?? 'unknown error', metadata: e.metadata ? entries(e.metadata) : [] });
          } else {
            write({ kind: FrameKind.Ok, id, body: target.responseSerialize(res) });
          }
        }
        maybeEnd();
      });
    };

    const cancelAll = (): void => {
      for (const c of inflight.values()) c.cancel();
      inflight.clear();
    };
    const onShutdown = (): void => {
      ending = true;
      maybeEnd();
    };
    call.on('data', onFrame);
    call.on('cancelled', cancelAll);
    call.on('error', cancelAll);
    call.on('end', onShutdown); // the follower half-closed: answer what is out, then end
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    call.on('close', () => shutdown.removeEventListener('abort', onShutdown));
  };
}

function shuttingDown(): NotLeaderError {
  return new NotLeaderError(0, 'the leader is shutting down; retry');
}

function entries(md: Metadata | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(md?.getMap() ?? {})) if (typeof v === 'string') out.push([k, v]);
  return out;
}
