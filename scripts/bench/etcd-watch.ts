/**
 * Watch streams over etcd's v3 Watch service for the benchmarks: one stream per watcher, each
 * watching one prefix, on a channel of its own connection (grpc-js shares one connection between
 * clients of the same address unless told to keep a local subchannel pool), so a benchmark can
 * spread many streams over a few connections as real clients would. Messages stay raw bytes and
 * are read by watch-wire.ts, which costs the client far less than decoding them into objects.
 */
import { credentials, makeGenericClientConstructor, Metadata, type Client } from '@grpc/grpc-js';
import { prefixEnd } from './etcd-api.js';
import { readWatchResponse, watchCreateRequest } from './watch-wire.js';

/** Streams one watch connection carries; more watchers open more connections. */
export const WATCH_STREAMS_PER_CHANNEL = 100;
const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.use_local_subchannel_pool': 1 };

const identity = (b: Buffer): Buffer => b;
const RawWatchClient = makeGenericClientConstructor({
  Watch: {
    path: '/etcdserverpb.Watch/Watch', requestStream: true, responseStream: true,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  },
}, 'Watch');

interface Duplex extends NodeJS.EventEmitter {
  write(req: Buffer): boolean;
  cancel(): void;
}

/** One watch stream on a prefix; `created` resolves once the server has registered the watcher. */
export class PrefixWatch {
  readonly created: Promise<void>;
  private readonly call: Duplex;
  private ended = false;

  /** `onSendTimes` gets the send time (ms, the writer's float64) of every event a message carries. */
  constructor(client: Client, prefix: Buffer, onSendTimes: (sendTimesMs: readonly number[]) => void) {
    this.call = (client as unknown as Record<string, (md: Metadata) => Duplex>)['Watch']!(new Metadata());
    this.created = new Promise((resolve, reject) => {
      this.call.on('data', (raw: Buffer) => {
        let r: ReturnType<typeof readWatchResponse>;
        try {
          r = readWatchResponse(raw);
        } catch (e) {
          // Unreadable: end this stream; its missing deliveries show in the delivered/expected count.
          reject(e as Error);
          this.close();
          return;
        }
        if (r.created) resolve();
        if (r.canceled) reject(new Error('watch canceled by the server'));
        if (r.sendTimesMs.length > 0) onSendTimes(r.sendTimesMs);
      });
      this.call.on('error', (e: Error) => {
        if (!this.ended) reject(e);
      });
    });
    this.call.write(watchCreateRequest(prefix, prefixEnd(prefix)));
  }

  close(): void {
    this.ended = true;
    this.call.cancel();
  }
}

/** A watch connection to one member. */
export function watchChannel(endpoint: string): Client {
  return new RawWatchClient(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS);
}
