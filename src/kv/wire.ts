import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { CorruptionError } from '../common/errors.js';

/**
 * Small helpers over the protobuf wire primitives, so the hand-written codec reads like the .proto.
 * Proto3 rules: zero values and empty byte strings are not written; unknown fields are skipped.
 */
export { BinaryReader, BinaryWriter, WireType };

export function putBytes(w: BinaryWriter, field: number, value: Uint8Array): void {
  if (value.length > 0) w.tag(field, WireType.LengthDelimited).bytes(value);
}

export function putString(w: BinaryWriter, field: number, value: string): void {
  if (value.length > 0) w.tag(field, WireType.LengthDelimited).string(value);
}

export function putUint(w: BinaryWriter, field: number, value: number): void {
  if (value !== 0) w.tag(field, WireType.Varint).uint64(value);
}

/** A oneof member is written even when it holds the zero value: that is how its case is known. */
export function putUintAlways(w: BinaryWriter, field: number, value: number): void {
  w.tag(field, WireType.Varint).uint64(value);
}

export function putBytesAlways(w: BinaryWriter, field: number, value: Uint8Array): void {
  w.tag(field, WireType.LengthDelimited).bytes(value);
}

export function putBool(w: BinaryWriter, field: number, value: boolean): void {
  if (value) w.tag(field, WireType.Varint).bool(true);
}

/** Writes a nested message (even an empty one: presence matters for messages and oneofs). */
export function putMessage(w: BinaryWriter, field: number, write: (w: BinaryWriter) => void): void {
  w.tag(field, WireType.LengthDelimited).fork();
  write(w);
  w.join();
}

export function readUint(r: BinaryReader): number {
  const v = r.uint64();
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new CorruptionError(`integer ${String(v)} exceeds 2^53`);
  return n;
}

/**
 * Copies into a plain Uint8Array: the reader's buffer may be large or reused, stored values outlive
 * the decode, and results look the same whether they came from memory or from disk.
 */
export function readBytes(r: BinaryReader): Uint8Array {
  return new Uint8Array(r.bytes());
}

/**
 * Calls `onField` for each field of the message that ends at `end`; a field it does not claim (returns
 * false: unknown, or a known number with an unexpected wire type) is skipped, as protobuf does.
 */
export function readFields(
  r: BinaryReader,
  end: number,
  onField: (field: number, wireType: WireType) => boolean,
): void {
  while (r.pos < end) {
    const [field, wireType] = r.tag();
    if (!onField(field, wireType)) r.skip(wireType, field);
  }
  if (r.pos !== end) throw new CorruptionError('protobuf message overruns its length');
}

/** Decodes a nested message: reads its length, then its fields. */
export function readNested<T>(r: BinaryReader, decode: (r: BinaryReader, end: number) => T): T {
  const length = r.uint32();
  const end = r.pos + length;
  if (end > r.len) throw new CorruptionError('protobuf nested message overruns its buffer');
  return decode(r, end);
}
