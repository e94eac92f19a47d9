import type { ClientDuplexStream } from '@grpc/grpc-js';
import * as pb from '../gen/etcd/etcdserverpb/rpc.js';
import { ErrorCode, type RaftkvError } from '../common/errors.js';
import { fromEvent, revisionOf, watchSpan } from './convert.js';
import type { Endpoints } from './endpoints.js';
import { ClientAbortedError, ClientClosedError, ClientError, WatchAbandonedError, WatchCompactedError } from './errors.js';
import { aborted, backOffBeforeResume, resumableFailure, type RetryPolicy } from './retry.js';
import type { WatchBatch, WatchOptions, WatchTarget } from './types.js';

export interface WatchDeps {
  readonly endpoints: Endpoints;
  readonly policy: RetryPolicy;
  readonly isClosed: () => boolean;
}

/** The server's text for a watch a snapshot restore ended (src/kv WatchAbandonedError). */
const ABANDONED_PREFIX = 'watch abandoned';

function createRequest(target: WatchTarget, startRevision: number, prevKv: boolean): pb.WatchRequest {
  return pb.WatchRequest.fromPartial({
    requestUnion: { $case: 'createRequest', createRequest: { ...watchSpan(target), startRevision, prevKv } },
  });
}

/** The error a server-side cancel of the watch means; null for none. */
function cancelError(msg: pb.WatchResponse): RaftkvError | null {
  if (!msg.canceled) return null;
  if (msg.compactRevision > 0) return new WatchCompactedError(msg.compactRevision);
  if (msg.cancelReason.startsWith(ABANDONED_PREFIX)) return new WatchAbandonedError(revisionOf(msg.header));
  return new ClientError(ErrorCode.InvalidArgument, `the server canceled the watch: ${msg.cancelReason || 'no reason given'}`, null);
}

/**
 * The watch as an async iterable of non-empty batches, over etcd's Watch stream (one watch per
 * stream). When a stream fails with a retryable error (or the node ends it), the watch moves to the
 * next endpoint and resumes after the last revision it delivered, so the consumer sees every event
 * once, in order. `policy.attemptsMax` consecutive failures without a message in between end it.
 * Reads are pulled, so gRPC flow control bounds what is buffered. Breaking out of the loop or aborting
 * the signal cancels the stream.
 */
export async function* watchStream(deps: WatchDeps, target: WatchTarget, o: WatchOptions): AsyncGenerator<WatchBatch> {
  let nextRevision = o.fromRevision ?? 0;
  if (!Number.isSafeInteger(nextRevision) || nextRevision < 0) throw new ClientError(ErrorCode.InvalidArgument, `fromRevision must be a non-negative integer, got ${nextRevision}`, null);
  let failures = 0;
  while (true) {
    if (deps.isClosed()) throw new ClientClosedError();
    if (aborted(o.signal)) throw new ClientAbortedError(o.signal?.reason);
    const stubs = deps.endpoints.get();
    const call: ClientDuplexStream<pb.WatchRequest, pb.WatchResponse> = stubs.watch.watch();
    const onAbort = (): void => call.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let failure: RaftkvError | null = null;
    try {
      call.write(createRequest(target, nextRevision, o.prevKv ?? false));
      for await (const msg of call as AsyncIterable<pb.WatchResponse>) {
        failures = 0;
        const canceled = cancelError(msg);
        if (canceled !== null) throw canceled;
        if (msg.created && nextRevision === 0) nextRevision = revisionOf(msg.header) + 1;
        const events = msg.events.map(fromEvent);
        const last = events[events.length - 1];
        if (last !== undefined) nextRevision = last.kv.modRevision + 1;
        if (events.length > 0) yield { revision: revisionOf(msg.header), events };
      }
    } catch (e) {
      failure = resumableFailure(e, o.signal, deps.isClosed());
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
    // A stream that ended (cleanly or not) is resumed elsewhere: the node may be shutting down.
    failures++;
    deps.endpoints.rotateFrom(stubs.index);
    await backOffBeforeResume(deps.policy, failures, failure, o.signal);
  }
}
