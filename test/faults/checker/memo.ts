/**
 * Lowe's memoization for Wing–Gong: the set of configurations (linearized-set, model state) already
 * explored. Two search paths that linearized the same operations and reached the same state have the
 * same future, so the second one is pruned.
 *
 * The linearized set is a bitset in a Uint32Array with a Zobrist hash (XOR of a fixed random word per
 * member) kept up to date on every set/clear, so probing the cache costs O(1) until a hash collision
 * forces a word-by-word comparison.
 */

/** splitmix32: deterministic per-bit Zobrist keys, so runs (and their step counts) are reproducible. */
function zobristKeys(count: number): Uint32Array {
  const keys = new Uint32Array(count);
  let s = 0x2545f491;
  for (let i = 0; i < count; i++) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    keys[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return keys;
}

export class LinearizedSet {
  readonly words: Uint32Array;
  private readonly keys: Uint32Array;
  hash = 0;

  constructor(size: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)));
    this.keys = zobristKeys(size);
  }

  set(i: number): void {
    (this.words[i >>> 5] as number) |= 1 << (i & 31);
    this.hash ^= this.keys[i] as number;
  }

  clear(i: number): void {
    (this.words[i >>> 5] as number) &= ~(1 << (i & 31));
    this.hash ^= this.keys[i] as number;
  }
}

interface Configuration {
  readonly words: Uint32Array;
  readonly state: number;
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ConfigurationCache {
  private readonly buckets = new Map<number, Configuration[]>();
  size = 0;

  /** Records (set, state); false if it was already there. Copies the words only when new. */
  addIfAbsent(set: LinearizedSet, state: number): boolean {
    const h = (set.hash ^ Math.imul(state + 1, 0x9e3779b1)) | 0;
    let bucket = this.buckets.get(h);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(h, bucket);
    } else {
      for (const c of bucket) if (c.state === state && sameWords(c.words, set.words)) return false;
    }
    bucket.push({ words: set.words.slice(), state });
    this.size++;
    return true;
  }
}
