import * as pb from '../gen/raftkv/v1/kv.js';
import type { RaftkvError } from '../common/errors.js';
import { fromEvent, revisionOf, toBuffer } from './convert.js';
import type { Endpoints } from './endpoints.js';
import { ClientAbortedError, ClientClosedError, RetriesExhaustedError, WatchAbandonedError, WatchCompactedError } from './errors.js';
import { aborted, backoffMs, sleep, type RetryPolicy } from './retry.js';
import { errorFromGrpc, isRetryable } from './status.js';
import type { WatchBatch, WatchOptions, WatchTarget } from './types.js';

export interface WatchDeps {
  readonly endpoints: Endpoints;
  readonly policy: RetryPolicy;
  readonly isClosed: () => boolean;
}

const EMPTY = Buffer.alloc(0);

function watchRequest(target: WatchTarget, startRevision: number, prevKv: boolean): pb.WatchRequest {
  const isPrefix = typeof target === 'object' && !(target instanceof Uint8Array);
  return pb.WatchRequest.fromPartial({
    key: isPrefix ? EMPTY : toBuffer(target),
    prefix: isPrefix ? toBuffer(target.prefix) : EMPTY,
    startRevision,
    prevKv,
  });
}

/**
 * The watch as an async iterable of non-empty batches. When a stream fails with a retryable error (or
 * the node ends it), the watch moves to the next endpoint and resumes after the last revision it
 * delivered, so the consumer sees every event once, in order. `policy.attemptsMax` consecutive
 * failures without a message in between end it. Reads are pulled, so gRPC flow control bounds what
 * is buffered. Breaking out of the loop or aborting the signal cancels the stream.
 */
export async function* watchStream(deps: WatchDeps, target: WatchTarget, o: WatchOptions): AsyncGenerator<WatchBatch> {
  let nextRevision = o.fromRevision ?? 0;
  let failures = 0;
  while (true) {
    if (deps.isClosed()) throw new ClientClosedError();
    if (aborted(o.signal)) throw new ClientAbortedError(o.signal?.reason);
    const stubs = deps.endpoints.get();
    const call = stubs.kv.watch(watchRequest(target, nextRevision, o.prevKv ?? false));
    const onAbort = (): void => call.cancel();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let failure: RaftkvError | null = null;
    try {
      for await (const msg of call as AsyncIterable<pb.WatchResponse>) {
        failures = 0;
        if (msg.compacted) throw new WatchCompactedError(msg.compactRevision);
        if (msg.abandoned) throw new WatchAbandonedError(revisionOf(msg.header));
        const events = msg.events.map(fromEvent);
        const last = events[events.length - 1];
        if (last !== undefined) nextRevision = last.kv.modRevision + 1;
        else if (nextRevision === 0 && revisionOf(msg.header) > 0) nextRevision = revisionOf(msg.header) + 1;
        if (events.length > 0) yield { revision: revisionOf(msg.header), events };
      }
    } catch (e) {
      if (e instanceof WatchCompactedError || e instanceof WatchAbandonedError) throw e;
      if (aborted(o.signal)) throw new ClientAbortedError(o.signal?.reason);
      if (deps.isClosed()) throw new ClientClosedError();
      failure = errorFromGrpc(e);
      if (!isRetryable(failure)) throw failure;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
    // A stream that ended (cleanly or not) is resumed elsewhere: the node may be shutting down.
    failures++;
    deps.endpoints.rotateFrom(stubs.index);
    if (failures >= deps.policy.attemptsMax && failure !== null) throw new RetriesExhaustedError(failures, failure);
    await sleep(backoffMs(deps.policy, failures, Math.random), o.signal);
  }
}
