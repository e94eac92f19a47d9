import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/common/errors.js';
import { Limits } from '../../src/common/limits.js';
import { validateCommand } from '../../src/kv/index.js';
import type { Command } from '../../src/kv/index.js';
import { CompareResult } from '../../src/kv/index.js';
import { b, cmpValue, delCmd, opDelete, opPut, opRange, putCmd, txnCmd } from './helpers.js';

function rejects(cmd: Command, message: RegExp): void {
  expect(() => validateCommand(cmd)).toThrow(InvalidArgumentError);
  expect(() => validateCommand(cmd)).toThrow(message);
}

describe('validateCommand', () => {
  it('accepts commands at the limits', () => {
    validateCommand({ op: { kind: 'put', put: { key: new Uint8Array(Limits.keyBytesMax), value: new Uint8Array(Limits.valueBytesMax), prevKv: false } }, requestId: null });
    validateCommand(txnCmd({ success: Array.from({ length: Limits.txnOpsMax }, (_, i) => opPut(`k${i}`, 'v')) }));
  });

  it('rejects empty and oversized keys and values', () => {
    rejects(putCmd('', 'v'), /^put.key is empty$/);
    rejects({ op: { kind: 'put', put: { key: new Uint8Array(Limits.keyBytesMax + 1), value: b('v'), prevKv: false } }, requestId: null }, /put.key is 4097 bytes; the limit is 4096/);
    rejects({ op: { kind: 'put', put: { key: b('k'), value: new Uint8Array(Limits.valueBytesMax + 1), prevKv: false } }, requestId: null }, /put.value is 1048577 bytes; the limit is 1048576/);
  });

  it('rejects too many txn ops, duplicate writes and bad ranges', () => {
    rejects(txnCmd({ success: Array.from({ length: Limits.txnOpsMax + 1 }, (_, i) => opPut(`k${i}`, 'v')) }), /txn.success has 129 entries; the limit is 128/);
    rejects(txnCmd({ compare: Array.from({ length: 129 }, () => cmpValue('k', CompareResult.Equal, 'v')) }), /txn.compare has 129 entries/);
    rejects(txnCmd({ failure: [opPut('k', '1'), opPut('k', '2')] }), /txn.failure writes key "k" twice/);
    rejects(txnCmd({ success: [opPut('p/k', '1'), opDelete({ prefix: 'p/' })] }), /txn.success writes key "p\/k" twice/);
    // Nested: then and else may put the same key; neither may collide with the enclosing branch.
    const inner = (success: ReturnType<typeof opPut>[], failure: ReturnType<typeof opPut>[]) => ({ kind: 'txn' as const, txn: { compare: [], success, failure } });
    expect(() => validateCommand(txnCmd({ success: [inner([opPut('k', '1')], [opPut('k', '2')])] }))).not.toThrow();
    rejects(txnCmd({ success: [opPut('k', '0'), inner([opPut('k', '1')], [])] }), /txn.success writes key "k" twice/);
    rejects(txnCmd({ success: [opDelete({ prefix: 'k' }), inner([], [opPut('k1', '1')])] }), /writes key "k1" twice/);
    rejects(txnCmd({ success: [opRange({ start: 'b', end: 'a' })] }), /txn.success\[0\].range.end must sort after start/);
    rejects(txnCmd({ compare: [{ key: b('k'), result: CompareResult.Equal, target: null }] }), /txn.compare\[0\] has no target/);
    rejects(delCmd({ key: 'b', rangeEnd: 'a' }), /delete.range_end must sort after key/);
    rejects(delCmd({ key: 'a', prefix: 'p' }), /either prefix or key/);
    rejects(delCmd({}), /delete.key is empty/);
    rejects({ op: null, requestId: null }, /no operation/);
  });

  it('rejects bad request ids and oversized requests', () => {
    rejects(putCmd('k', 'v', { clientId: '', seq: 1 }), /client_id is empty/);
    rejects(putCmd('k', 'v', { clientId: 'c', seq: 0 }), /seq must be at least 1/);
    rejects(putCmd('k', 'v', { clientId: 'x'.repeat(129), seq: 1 }), /client_id is 129 bytes; the limit is 128/);
    const big = new Uint8Array(Limits.valueBytesMax);
    rejects(txnCmd({ success: [0, 1].map((i) => ({ kind: 'put' as const, put: { key: b(`k${i}`), value: big, prevKv: false } })) }), /bytes of keys and values; the limit is/);
  });
});
