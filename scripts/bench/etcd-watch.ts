/**
 * Watch streams over etcd's v3 Watch service for the benchmarks: one stream per watcher, each
 * watching one prefix, on a channel of its own connection (grpc-js shares one connection between
 * clients of the same address unless told to keep a local subchannel pool), so a benchmark can
 * spread many streams over a few connections as real clients would.
 */
import { credentials, Metadata, type Client } from '@grpc/grpc-js';
import { etcdClients, prefixEnd } from './etcd-api.js';

/** Streams one watch connection carries; more watchers open more connections. */
export const WATCH_STREAMS_PER_CHANNEL = 100;
const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 };

interface WatchEvent {
  readonly kv?: { readonly key: Buffer; readonly value: Buffer };
}

interface WatchResponse {
  readonly created: boolean;
  readonly canceled: boolean;
  readonly cancelReason: string;
  readonly events: readonly WatchEvent[];
}

interface Duplex extends NodeJS.EventEmitter {
  write(req: unknown): boolean;
  cancel(): void;
}

/** One watch stream on a prefix; resolves `created` once the server has registered the watcher. */
export class PrefixWatch {
  readonly created: Promise<void>;
  private readonly call: Duplex;
  private ended = false;

  constructor(client: Client, prefix: Buffer, onValues: (values: readonly Buffer[]) => void) {
    this.call = (client as unknown as Record<string, (md: Metadata) => Duplex>)['Watch']!(new Metadata());
    this.created = new Promise((resolve, reject) => {
      this.call.on('data', (r: WatchResponse) => {
        if (r.created) resolve();
        if (r.canceled) reject(new Error(`watch canceled: ${r.cancelReason}`));
        if (r.events.length > 0) onValues(r.events.map((e) => e.kv?.value ?? Buffer.alloc(0)));
      });
      this.call.on('error', (e: Error) => {
        if (!this.ended) reject(e);
      });
    });
    this.call.write({ createRequest: { key: prefix, rangeEnd: prefixEnd(prefix) } });
  }

  close(): void {
    this.ended = true;
    this.call.cancel();
  }
}

/** A watch connection to one member. */
export function watchChannel(endpoint: string): Client {
  return new (etcdClients().Watch)(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS);
}
