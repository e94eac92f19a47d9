/** Promise helpers over the generated KV client for tests. */
import { Metadata } from '@grpc/grpc-js';
import {
  Consistency,
  type GetResponse,
  type KVClient,
  type PutResponse,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
} from '../../src/gen/raftkv/v1/kv.js';
import { deadline, unary } from './cluster.js';

const b = (s: string): Buffer => Buffer.from(s);

export function put(c: KVClient, key: string | Buffer, value: string | Buffer, ms = 5000): Promise<PutResponse> {
  const k = typeof key === 'string' ? b(key) : key;
  const v = typeof value === 'string' ? b(value) : value;
  return unary((cb) => c.put({ key: k, value: v, prevKv: false }, new Metadata(), deadline(ms), cb));
}

export function get(c: KVClient, key: string | Buffer, consistency = Consistency.CONSISTENCY_LINEARIZABLE, ms = 5000): Promise<GetResponse> {
  const k = typeof key === 'string' ? b(key) : key;
  return unary((cb) => c.get({ key: k, consistency }, new Metadata(), deadline(ms), cb));
}

export function range(c: KVClient, prefix: string, ms = 5000, more: Partial<Parameters<KVClient['range']>[0]> = {}): Promise<RangeResponse> {
  const req = { prefix: b(prefix), start: Buffer.alloc(0), end: Buffer.alloc(0), limit: 0, startAfter: Buffer.alloc(0), keysOnly: false, countOnly: false, consistency: Consistency.CONSISTENCY_LINEARIZABLE, revision: 0, ...more };
  return unary((cb) => c.range(req, new Metadata(), deadline(ms), cb));
}

export function txn(c: KVClient, req: Partial<TxnRequest>, ms = 5000): Promise<TxnResponse> {
  return unary((cb) => c.txn({ compare: [], success: [], failure: [], ...req }, new Metadata(), deadline(ms), cb));
}
