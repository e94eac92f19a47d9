import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/common/errors.js';
import { Command as GenCommand, CommandResult as GenCommandResult } from '../../src/gen/raftkv/v1/command.js';
import { Compare_Result } from '../../src/gen/raftkv/v1/kv.js';
import { CompareResult, decodeCommand, decodeCommandResult, encodeCommand, encodeCommandResult } from '../../src/kv/index.js';
import type { Command, CommandResult } from '../../src/kv/index.js';
import { b, cmpVersion, delCmd, opPut, opRange, putCmd, txnCmd } from './helpers.js';

// src/kv encodes commands by hand (it may not import src/gen); these tests pin it to the .proto.
const samples: Command[] = [
  putCmd('k', 'v', { clientId: 'client-1', seq: 42 }, true),
  putCmd('k', ''),
  delCmd({ prefix: 'p/' }),
  delCmd({ key: 'a', rangeEnd: 'b', prevKv: true }, { clientId: 'x', seq: 1 }),
  txnCmd(
    {
      compare: [
        cmpVersion('k', CompareResult.Equal, 0), // a oneof member holding zero must survive
        { key: b('k'), result: CompareResult.Greater, target: { kind: 'value', value: new Uint8Array(0) } },
        { key: b('k'), result: CompareResult.NotEqual, target: { kind: 'modRevision', modRevision: 2 ** 40 } },
        { key: b('k'), result: CompareResult.Less, target: { kind: 'createRevision', createRevision: 3 } },
      ],
      success: [opPut('k', 'v'), opRange({ start: 'a', end: 'z', limit: 5, keysOnly: true, startAfter: 'c' })],
      failure: [{ kind: 'delete', delete: { key: b('k'), rangeEnd: new Uint8Array(0), prefix: new Uint8Array(0), prevKv: false } }],
    },
    { clientId: 'c', seq: 9 },
  ),
  { op: { kind: 'put', put: { key: b('k'), value: new Uint8Array(0), prevKv: false, lease: 2 ** 52 + 7, ignoreValue: true } }, requestId: null },
  { op: { kind: 'put', put: { key: b('k'), value: b('v'), prevKv: false, ignoreLease: true } }, requestId: null },
  { op: { kind: 'leaseGrant', leaseGrant: { id: 0x3ceea241e5d7, ttlSeconds: 10 } }, requestId: null },
  { op: { kind: 'leaseRevoke', leaseRevoke: { id: 1 } }, requestId: null },
  { op: { kind: 'compact', compact: { revision: 2 ** 40 + 3 } }, requestId: null },
  txnCmd({
    compare: [
      { key: b('a'), result: CompareResult.Equal, target: { kind: 'lease', lease: 0 }, rangeEnd: b('b') },
      { key: b('a'), result: CompareResult.Greater, target: { kind: 'version', version: 1 }, rangeEnd: new Uint8Array(0) },
    ],
    success: [{ kind: 'txn', txn: { compare: [cmpVersion('k', CompareResult.Equal, 0)], success: [opPut('k', 'v')], failure: [{ kind: 'txn', txn: { compare: [], success: [], failure: [] } }] } }],
  }),
];

describe('command codec', () => {
  it('round-trips and agrees with the generated code in both directions', () => {
    for (const cmd of samples) {
      const bytes = encodeCommand(cmd);
      expect(decodeCommand(bytes)).toEqual(cmd);
      const gen = GenCommand.decode(bytes);
      expect(Buffer.from(GenCommand.encode(gen).finish())).toEqual(Buffer.from(bytes));
      expect(decodeCommand(GenCommand.encode(gen).finish())).toEqual(cmd);
    }
  });

  it('reads what the generated code writes', () => {
    const gen = GenCommand.fromPartial({
      op: {
        $case: 'txn',
        txn: {
          compare: [{ key: Buffer.from('k'), result: Compare_Result.LESS, target: { $case: 'version', version: 0 } }],
          success: [{ request: { $case: 'put', put: { key: Buffer.from('k'), value: Buffer.from('v') } } }],
        },
      },
      requestId: { clientId: 'id', seq: 3 },
    });
    const cmd = decodeCommand(GenCommand.encode(gen).finish());
    expect(cmd).toEqual(
      txnCmd({ compare: [cmpVersion('k', CompareResult.Less, 0)], success: [opPut('k', 'v')] }, { clientId: 'id', seq: 3 }),
    );
  });

  it('skips unknown fields and rejects garbage with CorruptionError', () => {
    const known = encodeCommand(putCmd('k', 'v'));
    const withUnknown = Buffer.concat([known, Buffer.from([0xf8, 0x07, 0x01])]); // field 127, varint 1
    expect(decodeCommand(withUnknown)).toEqual(putCmd('k', 'v'));
    expect(() => decodeCommand(Uint8Array.of(0x0a, 0x05, 0x01))).toThrow(CorruptionError);
    expect(() => decodeCommand(Uint8Array.of(0xff, 0xff, 0xff))).toThrow(CorruptionError);
  });
});

describe('command result codec', () => {
  const kv = { key: b('k'), value: b('v'), createRevision: 1, modRevision: 2, version: 2 };
  const results: CommandResult[] = [
    { kind: 'put', revision: 5, prevKv: kv },
    { kind: 'delete', revision: 6, deleted: 2, prevKvs: [kv, kv] },
    {
      kind: 'txn',
      revision: 7,
      succeeded: true,
      responses: [
        { kind: 'put', revision: 7, prevKv: null },
        { kind: 'range', revision: 7, kvs: [kv], count: 3, more: true, nextStartAfter: b('k') },
      ],
    },
    { kind: 'invalid', revision: 0, message: 'nope' },
    { kind: 'put', revision: 9, prevKv: { ...kv, lease: 77 } },
    { kind: 'leaseGrant', revision: 9, id: 12345, ttlSeconds: 60 },
    { kind: 'leaseRevoke', revision: 10, deleted: 3 },
    { kind: 'rejected', revision: 10, reason: 2 },
    { kind: 'rejected', revision: 10, reason: 5 },
    { kind: 'compact', revision: 10, compactRevision: 7 },
    {
      kind: 'txn', revision: 11, succeeded: false,
      responses: [{ kind: 'txn', revision: 11, succeeded: true, responses: [{ kind: 'put', revision: 11, prevKv: null }, { kind: 'txn', revision: 11, succeeded: false, responses: [] }] }],
    },
  ];

  it('round-trips and agrees with the generated code', () => {
    for (const res of results) {
      const bytes = encodeCommandResult(res);
      expect(decodeCommandResult(bytes)).toEqual(res);
      expect(Buffer.from(GenCommandResult.encode(GenCommandResult.decode(bytes)).finish())).toEqual(Buffer.from(bytes));
    }
    const gen = GenCommandResult.decode(encodeCommandResult(results[2] as CommandResult));
    expect(gen.result?.$case === 'txn' && gen.result.txn.header?.revision).toBe(7);
  });
});
