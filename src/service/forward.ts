import { credentials, Client, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { AddressResolver } from '../resolver/types.js';

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

function markForwarded(selfId: number, who: ForwardedIdentity | undefined): Metadata {
  const md = new Metadata();
  md.set(FORWARDED_HEADER, String(selfId));
  if (who?.user != null) md.set(FORWARDED_USER_HEADER, who.user);
  if (who?.token !== undefined) md.set(TOKEN_HEADER, who.token);
  return md;
}

/** Channels to other nodes kept open at once; the least recently used one is closed beyond this. */
const CHANNELS_MAX = 32;

export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (req: Req) => Buffer;
  readonly responseDeserialize: (buf: Buffer) => Res;
}

export type StreamMethod<Req, Res> = UnaryMethod<Req, Res>;

/** Sends unary calls to other nodes' gRPC servers over cached channels. */
export class Forwarder {
  private readonly clients = new Map<string, Client>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly selfId: number,
    resolver: AddressResolver,
    /** TLS to the other members' client ports (with this node's peer certificate); plaintext by default. */
    private readonly channelCredentials: ChannelCredentials = credentials.createInsecure(),
  ) {
    // A node that moved leaves a channel to its old address behind: drop it.
    this.unsubscribe = resolver.onChange(() => this.closeUnused(new Set(resolver.entries().values())));
  }

  call<Req, Res>(addr: string, method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal: AbortSignal, who?: ForwardedIdentity): Promise<Res> {
    const client = this.client(addr);
    const md = markForwarded(this.selfId, who);
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
    const md = markForwarded(this.selfId, who);
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
      oc.close();
    }
    return c;
  }

  private closeUnused(keep: Set<string>): void {
    for (const [addr, c] of this.clients) {
      if (keep.has(addr)) continue;
      this.clients.delete(addr);
      c.close();
    }
  }

  close(): void {
    this.unsubscribe();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
