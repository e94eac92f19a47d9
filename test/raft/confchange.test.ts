import { describe, expect, it } from 'vitest';
import { decodeConfChange, encodeConfChange } from '../../src/raft/confchange.js';
import { ConfChangeType, type ConfChange } from '../../src/raft/types.js';

describe('conf change codec', () => {
  it.each<ConfChange>([
    { type: ConfChangeType.AddVoter, nodeId: 1, context: new Uint8Array(0) },
    { type: ConfChangeType.AddLearner, nodeId: 0xfffffffe, context: new TextEncoder().encode('127.0.0.1:7000') },
    { type: ConfChangeType.RemoveNode, nodeId: 65536, context: new Uint8Array([0, 255, 1]) },
  ])('round-trips %j', (cc) => {
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });

  it('has a fixed layout: version, type, node id (u32 big-endian), context', () => {
    const b = encodeConfChange({ type: ConfChangeType.AddLearner, nodeId: 0x01020304, context: new Uint8Array([9]) });
    expect([...b]).toEqual([1, 1, 1, 2, 3, 4, 9]);
  });

  it('decodes from a view into a larger buffer', () => {
    const inner = encodeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 7, context: new Uint8Array([5]) });
    const big = new Uint8Array(inner.length + 4);
    big.set(inner, 2);
    expect(decodeConfChange(big.subarray(2, 2 + inner.length))).toMatchObject({ type: ConfChangeType.RemoveNode, nodeId: 7 });
  });

  it.each<[string, number[]]>([
    ['empty', []],
    ['too short', [1, 0, 0, 0, 1]],
    ['unknown version', [2, 0, 0, 0, 0, 1]],
    ['unknown type', [1, 3, 0, 0, 0, 1]],
  ])('rejects a malformed entry (%s) with InvalidArgumentError', (_name, bytes) => {
    expect(() => decodeConfChange(new Uint8Array(bytes))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
