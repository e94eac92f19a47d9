import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/storage/crc32c.js';

/** Byte-at-a-time reference, straight from the definition, to cross-check the sliced tables. */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32c', () => {
  // Vectors from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value.
  const vectors: Array<[string, Uint8Array, number]> = [
    ['empty', new Uint8Array(0), 0x00000000],
    ['"123456789"', new TextEncoder().encode('123456789'), 0xe3069283],
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 0xff bytes', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['0..31 ascending', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['31..0 descending', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['"a"', new TextEncoder().encode('a'), 0xc1d04330],
  ];
  it.each(vectors)('%s', (_name, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });

  it('is incremental: crc(b, crc(a)) === crc(a ++ b) at every split point', () => {
    const data = Uint8Array.from({ length: 67 }, (_, i) => (i * 37 + 11) & 0xff);
    const whole = crc32c(data);
    for (let split = 0; split <= data.length; split++) {
      expect(crc32c(data.subarray(split), crc32c(data.subarray(0, split)))).toBe(whole);
    }
  });

  it('matches the bitwise reference on every length 0..100 and on unaligned views', () => {
    const buf = Uint8Array.from({ length: 107 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let len = 0; len <= 100; len++) {
      const view = buf.subarray(3, 3 + len);
      expect(crc32c(view)).toBe(crc32cBitwise(view));
    }
  });
});
