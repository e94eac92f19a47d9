import { Metadata } from '@grpc/grpc-js';
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  DeleteRangeRequest,
  KVService,
  TxnRequest,
  type DeleteRangeResponse,
  type TxnResponse,
} from '../../gen/etcd/etcdserverpb/rpc.js';
import type { EventType, KeyValue } from '../../kv/types.js';
import type { CallScope } from '../call-signal.js';
import { SERVICE_DEFAULTS } from '../deps.js';
import type { KvCore } from '../kv-core.js';
import type { HandlerContext } from '../kv-service.js';
import * as cv from './convert.js';
import type { HeaderOf } from './header.js';
import { expect } from './kv.js';

const EMPTY = new Uint8Array(0);
/** EventType.Delete (src/kv/types.ts; only its types may be imported here). */
const DELETE: EventType = 1;

/** etcd's lock and election key for a lease: `<name>/<lease id in lowercase hex, unpadded>`. */
export function ownerKey(name: Uint8Array, lease: number): Buffer {
  return Buffer.concat([Buffer.from(name), Buffer.from(`/${lease.toString(16)}`)]);
}

export function prefixOf(name: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(name), Buffer.from('/')]);
}

/**
 * The steps of etcd's client-side concurrency recipes (clientv3/concurrency mutex.go, election.go),
 * run inside the server over the same KV core as any client's requests: writes go through raft (a
 * follower forwards them to the leader as etcd KV calls), reads are linearizable, waits are watches
 * on this node's store. Because the keys, leases and create revisions are the ones a Go or npm
 * client's recipe uses, a client of these services and a client running the recipe itself exclude
 * each other.
 */
export class Recipes {
  constructor(
    private readonly ctx: HandlerContext,
    private readonly core: KvCore,
    private readonly header: HeaderOf,
  ) {}

  current(): number {
    return this.ctx.deps.kv.stats().revision;
  }

  /**
   * One write or read of a recipe, bounded like any request although the call around it (Lock,
   * Campaign) may wait much longer: a forwarded step must not carry that call's far deadline
   * (grpc-js overflows a timeout near 2^31 ms into an immediate DEADLINE_EXCEEDED).
   */
  private step(scope: CallScope): CallScope {
    const ms = this.ctx.deps.options?.requestTimeoutMs ?? SERVICE_DEFAULTS.requestTimeoutMs;
    // The caller goes along: its commands are stamped with it and a forwarded step carries it.
    return { signal: AbortSignal.any([scope.signal, AbortSignal.timeout(ms)]), deadlineMs: Math.min(scope.deadlineMs, Date.now() + ms), dispose: () => undefined, ...(scope.caller ? { caller: scope.caller } : {}) };
  }

  txn(outer: CallScope, req: TxnRequest): Promise<TxnResponse> {
    const scope = this.step(outer);
    return this.core.write(scope, new Metadata(), KVService.txn, req, { op: { kind: 'txn', txn: cv.txnOp(req) }, requestId: null }, (r) =>
      cv.txnResponse(req, expect(r, 'txn'), this.header(r.revision)),
    );
  }

  deleteKey(outer: CallScope, key: Uint8Array): Promise<DeleteRangeResponse> {
    const scope = this.step(outer);
    const req = DeleteRangeRequest.fromPartial({ key: Buffer.from(key) });
    const op = cv.deleteOp(req);
    if (op === null) throw new Error('unreachable: a single-key delete is never empty');
    return this.core.write(scope, new Metadata(), KVService.deleteRange, req, { op: { kind: 'delete', delete: op }, requestId: null }, (r) =>
      cv.deleteResponse(expect(r, 'delete'), this.header(r.revision)),
    );
  }

  /**
   * The recipes' first step: if `key` does not exist, put it with `value` and `lease`; else read it.
   * Returns the key's create revision and whether this call created it.
   */
  async createOrGet(scope: CallScope, key: Buffer, value: Uint8Array, lease: number): Promise<{ rev: number; created: boolean }> {
    const res = await this.txn(scope, TxnRequest.fromPartial({
      compare: [{ key, result: Compare_CompareResult.Equal, target: Compare_CompareTarget.Create, targetUnion: { $case: 'createRevision', createRevision: 0 } }],
      success: [{ request: { $case: 'requestPut', requestPut: { key, value: Buffer.from(value), lease } } }],
      failure: [{ request: { $case: 'requestRange', requestRange: { key } } }],
    }));
    if (res.succeeded) return { rev: res.header?.revision ?? 0, created: true };
    const got = res.responses[0]?.response;
    const kv = got?.$case === 'responseRange' ? got.responseRange.kvs[0] : undefined;
    // Deleted between the compare and now cannot happen inside one txn; a missing kv means a bug.
    return { rev: kv?.createRevision ?? 0, created: false };
  }

  /** Put `value` on `key` only while its create revision is still `rev` (Proclaim). */
  async putIfOwner(scope: CallScope, key: Uint8Array, rev: number, value: Uint8Array, lease: number): Promise<boolean> {
    const k = Buffer.from(key);
    const res = await this.txn(scope, TxnRequest.fromPartial({
      compare: [{ key: k, result: Compare_CompareResult.Equal, target: Compare_CompareTarget.Create, targetUnion: { $case: 'createRevision', createRevision: rev } }],
      success: [{ request: { $case: 'requestPut', requestPut: { key: k, value: Buffer.from(value), lease } } }],
    }));
    return res.succeeded;
  }

  /** Delete `key` only while its create revision is still `rev` (Resign). */
  async deleteIfOwner(scope: CallScope, key: Uint8Array, rev: number): Promise<TxnResponse> {
    const k = Buffer.from(key);
    return this.txn(scope, TxnRequest.fromPartial({
      compare: [{ key: k, result: Compare_CompareResult.Equal, target: Compare_CompareTarget.Create, targetUnion: { $case: 'createRevision', createRevision: rev } }],
      success: [{ request: { $case: 'requestDeleteRange', requestDeleteRange: { key: k } } }],
    }));
  }

  /** Every key under `prefix` (values left out), read linearizably; and the revision of the read. */
  async keysUnder(outer: CallScope, prefix: Uint8Array): Promise<{ kvs: KeyValue[]; revision: number }> {
    return this.core.read(this.step(outer), true, async () => {
      const kvs: KeyValue[] = [];
      let startAfter: Uint8Array = EMPTY;
      let revision = 0;
      for (;;) {
        const page = await this.ctx.deps.kv.range({ prefix, start: EMPTY, end: EMPTY, limit: 0, startAfter, keysOnly: true, countOnly: false, pageOnly: true });
        revision ||= page.revision;
        kvs.push(...page.kvs);
        if (!page.more) return { kvs, revision };
        startAfter = page.nextStartAfter;
      }
    });
  }

  /** The key under `prefix` with the lowest create revision, with its value (the lock owner, the leader). */
  async firstCreated(scope: CallScope, prefix: Uint8Array): Promise<{ kv: KeyValue | null; revision: number }> {
    const { kvs, revision } = await this.keysUnder(scope, prefix);
    let first: KeyValue | null = null;
    for (const kv of kvs) if (first === null || kv.createRevision < first.createRevision) first = kv;
    if (first === null) return { kv: null, revision };
    const got = await this.ctx.deps.kv.get(first.key);
    return { kv: got.kv, revision: Math.max(revision, got.revision) };
  }

  /**
   * etcd's waitDeletes: until no key under `prefix` has a create revision <= maxCreateRev, wait for
   * the deletion of the newest such key (each waiter watches only the key just ahead of it).
   */
  async waitDeletes(scope: CallScope, prefix: Uint8Array, maxCreateRev: number): Promise<void> {
    for (;;) {
      const { kvs, revision } = await this.keysUnder(scope, prefix);
      let ahead: KeyValue | null = null;
      for (const kv of kvs) {
        if (kv.createRevision <= maxCreateRev && (ahead === null || kv.createRevision > ahead.createRevision)) ahead = kv;
      }
      if (ahead === null) return;
      await this.waitDelete(scope, ahead.key, revision + 1);
    }
  }

  /** Resolves at the first deletion of `key` from revision `from` on. */
  async waitDelete(scope: CallScope, key: Uint8Array, from: number): Promise<void> {
    const watcher = this.ctx.deps.kv.watch({ key, startRevision: from, signal: scope.signal });
    try {
      for await (const batch of watcher) if (batch.some((e) => e.type === DELETE)) return;
    } finally {
      await watcher.return();
    }
  }
}
