import { credentials, Client, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { AddressResolver } from '../resolver/types.js';
import { ForwardStreams } from './forward-stream.js';
import type { StreamMethod, UnaryMethod } from './method.js';

/** Marks a forwarded call: the receiver serves it itself and never forwards again (one hop). */
export const FORWARDED_HEADER = 'raftkv-forwarded-by';
/**
 * The verified user a forwarded call runs for. Set only by a member's forwarder; the receiver reads it
 * only when the forwarding channel is mutually authenticated with the peer CA (else it ignores it and
 * authenticates the caller's token itself), so a client cannot choose its identity by sending it.
 */
export const FORWARDED_USER_HEADER = 'raftkv-forwarded-user';
/** etcd's gRPC metadata key for the auth token (rpctypes.TokenFieldNameGRPC). */
export const TOKEN_HEADER = 'token';

/** What a forwarded call carries of its caller: the verified user and the caller's own token. */
export interface ForwardedIdentity {
  readonly user: string | null;
  readonly token?: string;
}

/** Adds the caller's identity to the metadata of a forwarded call (or stream); returns `md`. */
export function withIdentity(md: Metadata, who: ForwardedIdentity | undefined): Metadata {
  if (who?.user != null) md.set(FORWARDED_USER_HEADER, who.user);
  if (who?.token !== undefined) md.set(TOKEN_HEADER, who.token);
  return md;
}

/** Channels to other nodes kept open at once; the least recently used one is closed beyond this. */
const CHANNELS_MAX = 32;

export type { StreamMethod, UnaryMethod } from './method.js';

/** Sends unary calls to other nodes' gRPC servers over cached channels. */
export class Forwarder {
  private readonly clients = new Map<string, Client>();
  private readonly unsubscribe: () => void;
  /** Calls to the leader, multiplexed over one stream per leader (forward-stream.ts). */
  private readonly streams = new ForwardStreams(
    (addr) => this.client(addr),
    () => this.forwardedMetadata(),
    (addr, method, req, deadlineMs, signal, md) => this.call(addr, method, req, deadlineMs, signal, md),
  );

  constructor(
    private readonly selfId: number,
    resolver: AddressResolver,
    /** TLS to the other members' client ports (with this node's peer certificate); plaintext by default. */
    private readonly channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {
    // A node that moved leaves a channel to its old address behind: drop it.
    this.unsubscribe = resolver.onChange(() => this.closeUnused(new Set(resolver.entries().values())));
  }

  /**
   * Like call(), over the long-lived stream to `addr` (one per leader): for the hot forwarded path.
   * `md`'s string entries travel with this call only; the leader's handler sees them (plus the mark).
   */
  callStreamed<Req, Res>(addr: string, method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal: AbortSignal, md?: Metadata): Promise<Res> {
    return this.streams.call(addr, method, req, deadlineMs, signal, md);
  }

  private forwardedMetadata(): Metadata {
    const md = new Metadata();
    md.set(FORWARDED_HEADER, String(this.selfId));
    return md;
  }

  /** One unary call; `extra`'s string entries go with it (the forwarded mark cannot be overridden). */
  call<Req, Res>(addr: string, method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal: AbortSignal, extra?: Metadata): Promise<Res> {
    const client = this.client(addr);
    const md = extra?.clone() ?? new Metadata();
    md.set(FORWARDED_HEADER, String(this.selfId));
    return new Promise<Res>((resolve, reject) => {
      const options = Number.isFinite(deadlineMs) ? { deadline: deadlineMs } : {};
      const onAbort = (): void => call.cancel();
      const call = client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, req, md, options, (err: ServiceError | null, res?: Res) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else if (res === undefined) reject(new Error(`empty response from ${addr}`));
        else resolve(res);
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Opens a bidi stream to `addr`'s `method`, marked as forwarded (the receiver never forwards it again). */
  bidi<Req, Res>(addr: string, method: StreamMethod<Req, Res>, who?: ForwardedIdentity): ClientDuplexStream<Req, Res> {
    const md = withIdentity(new Metadata(), who);
    md.set(FORWARDED_HEADER, String(this.selfId));
    return this.client(addr).makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, md, {});
  }

  private client(addr: string): Client {
    let c = this.clients.get(addr);
    if (c) {
      this.clients.delete(addr);
      this.clients.set(addr, c);
      return c;
    }
    c = new Client(addr, this.channelCredentials, { 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
    this.clients.set(addr, c);
    if (this.clients.size > CHANNELS_MAX) {
      const [oldest, oc] = this.clients.entries().next().value as [string, Client];
      this.clients.delete(oldest);
      this.streams.drop(oldest);
      oc.close();
    }
    return c;
  }

  private closeUnused(keep: Set<string>): void {
    for (const [addr, c] of this.clients) {
      if (keep.has(addr)) continue;
      this.clients.delete(addr);
      this.streams.drop(addr);
      c.close();
    }
  }

  close(): void {
    this.unsubscribe();
    this.streams.close();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
