import type { ServerWritableStream } from '@grpc/grpc-js';
import { RaftkvError } from '../common/errors.js';
import type { ResponseHeader, WatchRequest, WatchResponse } from '../gen/raftkv/v1/kv.js';
import type { Watcher } from '../kv/watcher.js';
import { callScope } from './call-signal.js';
import { watchEvent } from './convert.js';
import type { HandlerContext } from './handler.js';
import { checkMalformed } from './malformed.js';
import { toStatus } from './status.js';

/** A watch stream never ends on its own; only the caller, the server's shutdown or an error end it. */
const WATCH_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Serves a watch from this node's store: every revision in order, whichever node leads. Ends with
 * `abandoned` after a snapshot restore and with `compacted` when the start is older than the history.
 */
export async function serveWatch(ctx: HandlerContext, call: ServerWritableStream<WatchRequest, unknown>, header: (rev: number) => ResponseHeader): Promise<void> {
  const scope = callScope(call, WATCH_TIMEOUT_MS, ctx.shutdown);
  const out = call as unknown as ServerWritableStream<WatchRequest, WatchResponse>;
  let watcher: Watcher | null = null;
  try {
    checkMalformed(call.request);
    const req = call.request;
    const target = req.key.length > 0 ? { key: req.key } : { prefix: req.prefix };
    if (req.key.length > 0 && req.prefix.length > 0) throw new RaftkvError('INVALID_ARGUMENT', 'watch: give either key or prefix, not both');
    watcher = ctx.deps.kv.watch({ ...target, startRevision: req.startRevision, signal: scope.signal });
    for await (const batch of watcher) {
      const last = batch[batch.length - 1];
      const rev = last ? last.kv.modRevision : ctx.deps.kv.stats().revision;
      const ok = out.write({ header: header(rev), events: batch.map((e) => watchEvent(e, req.prevKv)), abandoned: false, compacted: false, compactRevision: 0 });
      if (!ok) await drained(out, scope.signal);
    }
    out.end();
  } catch (err) {
    endWithError(out, scope.signal.aborted ? scope.signal.reason : err, header);
  } finally {
    scope.dispose();
    await watcher?.return();
  }
}

function endWithError(out: ServerWritableStream<WatchRequest, WatchResponse>, err: unknown, header: (rev: number) => ResponseHeader): void {
  if (out.cancelled) return;
  const name = (err as { name?: unknown }).name;
  if (name === 'WatchAbandonedError') {
    const revision = (err as { revision: number }).revision;
    out.write({ header: header(revision), events: [], abandoned: true, compacted: false, compactRevision: 0 });
    out.end();
    return;
  }
  if (name === 'WatchCompactedError') {
    const floor = (err as { compactRevision: number }).compactRevision;
    out.write({ header: header(floor), events: [], abandoned: false, compacted: true, compactRevision: floor });
    out.end();
    return;
  }
  // grpc-js ends a server stream with this status when the stream emits 'error'.
  out.emit('error', toStatus(err));
}

function drained(out: ServerWritableStream<WatchRequest, WatchResponse>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      out.off('drain', onDrain);
      reject(signal.reason);
    };
    const onDrain = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    out.once('drain', onDrain);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
