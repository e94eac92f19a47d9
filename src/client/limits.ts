import { InvalidArgumentError } from '../common/errors.js';
import { Limits } from '../common/limits.js';
import type * as pb from '../gen/etcd/etcdserverpb/rpc.js';

/**
 * The server's size limits, checked before a request is sent. A request over a limit fails the same
 * way on every attempt, so it must fail at once with INVALID_ARGUMENT naming the limit, instead of
 * being retried as if the server were busy (grpc-js answers an oversized message with
 * RESOURCE_EXHAUSTED, the status the server also uses for "overloaded, retry").
 */
export function checkKey(key: Uint8Array, field = 'key'): void {
  if (key.length > Limits.keyBytesMax) {
    throw new InvalidArgumentError(`${field} is ${key.length} bytes; the limit is ${Limits.keyBytesMax} bytes (keyBytesMax)`);
  }
}

export function checkValue(value: Uint8Array, field = 'value'): void {
  if (value.length > Limits.valueBytesMax) {
    throw new InvalidArgumentError(`${field} is ${value.length} bytes; the limit is ${Limits.valueBytesMax} bytes (valueBytesMax)`);
  }
}

/** The size of the encoded request message, against what the server's gRPC layer accepts. */
export function checkRequestBytes(encodedBytes: number): void {
  if (encodedBytes > Limits.requestBytesMax) {
    throw new InvalidArgumentError(`request is ${encodedBytes} bytes; the limit is ${Limits.requestBytesMax} bytes (requestBytesMax)`);
  }
}

export function checkTxn(t: Pick<pb.TxnRequest, 'compare' | 'success' | 'failure'>): void {
  for (const [name, list] of [['compare', t.compare], ['success', t.success], ['failure', t.failure]] as const) {
    if (list.length > Limits.txnOpsMax) {
      throw new InvalidArgumentError(`txn ${name} has ${list.length} entries; the limit is ${Limits.txnOpsMax} (txnOpsMax)`);
    }
  }
  t.compare.forEach((c, i) => {
    checkKey(c.key, `txn compare[${i}].key`);
    if (c.targetUnion?.$case === 'value') checkValue(c.targetUnion.value, `txn compare[${i}].value`);
  });
  for (const [name, list] of [['success', t.success], ['failure', t.failure]] as const) {
    list.forEach((op, i) => {
      if (op.request?.$case !== 'requestPut') return;
      checkKey(op.request.requestPut.key, `txn ${name}[${i}].key`);
      checkValue(op.request.requestPut.value, `txn ${name}[${i}].value`);
    });
  }
}
