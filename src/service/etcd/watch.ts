import type { ServerDuplexStream } from '@grpc/grpc-js';
import { RaftkvError } from '../../common/errors.js';
import { WatchCreateRequest_FilterType, type WatchCreateRequest, type WatchRequest, type WatchResponse } from '../../gen/etcd/etcdserverpb/rpc.js';
import { Event_EventType, type Event } from '../../gen/etcd/mvccpb/kv.js';
import type { WatchEvent } from '../../kv/types.js';
import type { Watcher } from '../../kv/watcher.js';
import { callScope, type CallScope } from '../call-signal.js';
import type { HandlerContext } from '../kv-service.js';
import { checkMalformed } from '../malformed.js';
import { etcdKeyValue } from './convert.js';
import { EtcdErrors, toEtcdStatus } from './errors.js';
import type { HeaderOf } from './header.js';
import { keySpan } from './keys.js';

/** A watch stream never ends on its own; only the caller, the server's shutdown or an error end it. */
const WATCH_STREAM_TIMEOUT_MS = 2 ** 31 - 1;
/** Watches one stream may hold at once; a create beyond it is refused (created + canceled). */
export const WATCHES_PER_STREAM_MAX = 1_000;
/** etcd's progressReportInterval: idle progress_notify watchers hear the current revision this often. */
export const PROGRESS_INTERVAL_MS = 10 * 60 * 1000;
/** grpc-go's names of the codes an auth check can end with (etcd writes them into a cancel reason). */
const GO_CODE_NAMES: Record<number, string> = { 3: 'InvalidArgument', 7: 'PermissionDenied', 14: 'Unavailable', 16: 'Unauthenticated', 4: 'DeadlineExceeded' };
/** Watch requests of one stream waiting to be handled; beyond it the stream is ended. */
const REQUESTS_QUEUED_MAX = 1_000;
/** etcd's clientv3.InvalidWatchID: the id of a create that failed, and of stream-wide progress. */
const NO_WATCH_ID = -1;

interface OpenWatch {
  readonly watcher: Watcher;
  readonly abort: AbortController;
  readonly progressNotify: boolean;
  /** Events were sent since the last progress tick (etcd skips the notification then). */
  sentSinceTick: boolean;
}

export interface EtcdWatchOptions {
  readonly progressIntervalMs?: number;
}

/**
 * etcd's bidirectional Watch over this node's store (every member serves watches from its own applied
 * state). Creates are answered in the order they arrive, each `created` response before any event of
 * that watch; events of one watch come in revision order without gaps, whole revisions per response.
 */
export function serveEtcdWatch(ctx: HandlerContext, header: HeaderOf, call: ServerDuplexStream<WatchRequest, WatchResponse>, opts: EtcdWatchOptions = {}): void {
  const scope = callScope(call, WATCH_STREAM_TIMEOUT_MS, ctx.shutdown);
  const watches = new Map<number, OpenWatch>();
  let nextId = 0;
  let ended = false;
  const current = (): number => ctx.deps.kv.stats().revision;
  const send = (res: Partial<WatchResponse>): void => {
    if (ended || call.cancelled || call.destroyed) return;
    call.write({ header: header(current()), watchId: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [], ...res });
  };

  const cancelWatch = (id: number): boolean => {
    const w = watches.get(id);
    if (w === undefined) return false;
    watches.delete(id);
    w.abort.abort();
    void w.watcher.return();
    return true;
  };

  const end = (err?: unknown): void => {
    if (ended) return;
    for (const id of [...watches.keys()]) cancelWatch(id);
    clearInterval(ticker);
    scope.dispose();
    if (err !== undefined && !call.cancelled) call.emit('error', toEtcdStatus(err));
    else if (!call.cancelled) call.end();
    ended = true;
  };

  const pump = async (id: number, w: OpenWatch, req: WatchCreateRequest): Promise<void> => {
    const noPut = req.filters.includes(WatchCreateRequest_FilterType.Noput);
    const noDelete = req.filters.includes(WatchCreateRequest_FilterType.Nodelete);
    try {
      for await (const batch of w.watcher) {
        const events = batch.filter((e) => !(noPut && e.type === 0) && !(noDelete && e.type === 1)).map((e) => etcdEvent(e, req.prevKv));
        if (events.length === 0) continue;
        const last = batch[batch.length - 1];
        w.sentSinceTick = true;
        const hdr = header(Math.max(current(), last?.kv.modRevision ?? 0));
        const parts = req.fragment ? fragments(events) : [events];
        parts.forEach((part, i) => send({ header: hdr, watchId: id, events: part, fragment: i < parts.length - 1 }));
      }
    } catch (err) {
      if (w.abort.signal.aborted || !watches.has(id)) return; // cancelled by the client or the stream's end
      watches.delete(id);
      const name = (err as { name?: unknown }).name;
      if (name === 'WatchCompactedError') {
        const floor = (err as { compactRevision: number }).compactRevision;
        send({ watchId: id, canceled: true, compactRevision: floor, cancelReason: EtcdErrors.compacted[1] });
      } else {
        send({ watchId: id, canceled: true, cancelReason: err instanceof RaftkvError ? err.message : String(err) });
      }
    }
  };

  const create = async (req: WatchCreateRequest, authed: CallScope): Promise<void> => {
    const refuse = (reason: string): void => send({ watchId: NO_WATCH_ID, created: true, canceled: true, cancelReason: reason });
    const key = req.key.length === 0 ? Buffer.of(0) : req.key;
    try {
      await ctx.auth.fresh(authed); // with auth on: see every grant and revoke committed before this create
      ctx.auth.require(authed, 'read', key, req.rangeEnd);
    } catch (err) {
      // etcd refuses the watch, not the stream, and its reason is the Go form of the status.
      const st = toEtcdStatus(err);
      return refuse(`rpc error: code = ${GO_CODE_NAMES[st.code] ?? 'Unknown'} desc = ${st.details}`);
    }
    if (ended) return;
    if (req.startRevision < 0) return refuse(EtcdErrors.compacted[1]);
    if (watches.size >= WATCHES_PER_STREAM_MAX) return refuse(`too many watches on one stream (limit ${WATCHES_PER_STREAM_MAX})`);
    let id = req.watchId;
    if (id !== 0 && watches.has(id)) return refuse('mvcc: duplicate watch ID provided on the WatchStream');
    if (id === 0) {
      while (watches.has(nextId)) nextId++;
      id = nextId++;
    }
    const span = keySpan(key, req.rangeEnd);
    if (span.kind === 'empty') return refuse('mvcc: watcher range is empty');
    const abort = new AbortController();
    let watcher: Watcher;
    try {
      const target = span.kind === 'single' ? { key: span.key } : { range: { start: span.start, end: span.end } };
      watcher = ctx.deps.kv.watch({ ...target, startRevision: req.startRevision, signal: abort.signal });
    } catch (err) {
      return refuse(err instanceof Error ? err.message : String(err));
    }
    const w: OpenWatch = { watcher, abort, progressNotify: req.progressNotify, sentSinceTick: false };
    watches.set(id, w);
    send({ watchId: id, created: true });
    void pump(id, w, req);
  };

  const onRequest = async (req: WatchRequest, authed: CallScope): Promise<void> => {
    if (ended) return;
    try {
      checkMalformed(req);
    } catch (err) {
      end(err);
      return;
    }
    const r = req.requestUnion;
    if (r?.$case === 'createRequest') await create(r.createRequest, authed);
    else if (r?.$case === 'cancelRequest') {
      if (cancelWatch(r.cancelRequest.watchId)) send({ watchId: r.cancelRequest.watchId, canceled: true });
    } else if (r?.$case === 'progressRequest') send({ watchId: NO_WATCH_ID });
  };

  const ticker = setInterval(() => {
    for (const [id, w] of watches) {
      if (w.progressNotify && !w.sentSinceTick) send({ watchId: id });
      w.sentSinceTick = false;
    }
  }, opts.progressIntervalMs ?? PROGRESS_INTERVAL_MS);
  ticker.unref();

  // The caller is identified once per stream; requests wait for it, in the order they came.
  const identified = ctx.auth.scoped(scope, call).catch((err: unknown) => {
    end(err);
    return null;
  });
  // Requests are handled one at a time, in order (a create may wait for a ReadIndex round with auth on).
  let queue: Promise<unknown> = identified;
  let queued = 0;
  call.on('data', (req: WatchRequest) => {
    if (++queued > REQUESTS_QUEUED_MAX) return end(new RaftkvError('OVERLOADED', `more than ${REQUESTS_QUEUED_MAX} watch requests waiting on one stream`));
    queue = queue.then(async () => {
      const authed = await identified;
      if (authed !== null) await onRequest(req, authed);
    }).catch((err: unknown) => end(err)).finally(() => queued--);
  });
  call.on('end', () => end());
  call.on('error', () => end());
  scope.signal.addEventListener('abort', () => end(call.cancelled ? undefined : scope.signal.reason), { once: true });
}

function etcdEvent(e: WatchEvent, withPrevKv: boolean): Event {
  return {
    type: e.type === 1 ? Event_EventType.Delete : Event_EventType.Put,
    kv: etcdKeyValue(e.kv),
    ...(withPrevKv && e.prevKv ? { prevKv: etcdKeyValue(e.prevKv) } : {}),
  };
}

/** etcd fragments a watch response above its max request size (1.5 MiB) when the watcher asked for it. */
export const WATCH_FRAGMENT_BYTES_MAX = 1.5 * 1024 * 1024;

/** Consecutive groups of events of at most WATCH_FRAGMENT_BYTES_MAX (an event larger alone is one group). */
export function fragments<E extends { kv?: { key: Uint8Array; value: Uint8Array } | undefined; prevKv?: { key: Uint8Array; value: Uint8Array } | undefined }>(events: E[]): E[][] {
  const out: E[][] = [];
  let group: E[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = 64 + (e.kv ? e.kv.key.length + e.kv.value.length : 0) + (e.prevKv ? e.prevKv.key.length + e.prevKv.value.length : 0);
    if (group.length > 0 && bytes + size > WATCH_FRAGMENT_BYTES_MAX) {
      out.push(group);
      group = [];
      bytes = 0;
    }
    group.push(e);
    bytes += size;
  }
  out.push(group);
  return out;
}
