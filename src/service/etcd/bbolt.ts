/**
 * Writes a read-only bbolt database file (the format of etcd's backend), so that `etcdctl snapshot
 * status` can open what Maintenance.Snapshot streams. Written from bbolt's documented on-disk layout
 * (little-endian, as bbolt on amd64/arm64):
 *
 *   page   = id u64 | flags u16 | count u16 | overflow u32 | body      (16-byte header)
 *   meta   = magic u32 | version u32 | pageSize u32 | flags u32 | root bucket (root u64, sequence u64)
 *            | freelist u64 | pgid (high-water mark) u64 | txid u64 | checksum u64 (FNV-1a 64 of the rest)
 *   leaf   = count × (flags u32 | pos u32 | ksize u32 | vsize u32), then keys and values;
 *            pos counts from the element itself; flags 1 marks a sub-bucket, whose value is its
 *            header (root u64, sequence u64)
 *   branch = count × (pos u32 | ksize u32 | pgid u64), then keys (each the first key of the child)
 *
 * Layout: pages 0 and 1 meta, 2 an empty freelist, then each bucket's pages (leaves, then branch
 * levels up to its root), then the root bucket's leaf (bucket names → headers). Every page is
 * reachable from a meta page or is the freelist, which is what bbolt's consistency check demands.
 */

export const BOLT_PAGE_BYTES = 4096;
const HEADER_BYTES = 16;
const ELEMENT_BYTES = 16;
const MAGIC = 0xed0cdaed;
const VERSION = 2;
const FLAG_BRANCH = 0x01;
const FLAG_LEAF = 0x02;
const FLAG_META = 0x04;
const FLAG_FREELIST = 0x10;
const BUCKET_LEAF_FLAG = 0x01;
/** A page's element count is a u16. */
const ELEMENTS_PER_PAGE_MAX = 0xffff;

export interface BoltBucket {
  readonly name: string;
  /** Sorted by key (bytewise), keys unique. */
  readonly entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
}

/** The database file for `buckets` (names in any order), as whole pages. */
export function writeBoltDb(buckets: readonly BoltBucket[]): Buffer[] {
  const pages: Buffer[] = [];
  let nextId = 3;
  const alloc = (bytes: number): { id: number; page: Buffer } => {
    const n = Math.ceil(Math.max(bytes, HEADER_BYTES) / BOLT_PAGE_BYTES);
    const page = Buffer.alloc(n * BOLT_PAGE_BYTES);
    const id = nextId;
    nextId += n;
    page.writeBigUInt64LE(BigInt(id), 0);
    page.writeUInt32LE(n - 1, 12);
    pages.push(page);
    return { id, page };
  };

  const named = [...buckets].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const roots = named.map((b) => writeTree(b.entries, alloc));
  const rootEntries = named.map((b, i) => {
    const header = Buffer.alloc(16);
    header.writeBigUInt64LE(BigInt(roots[i]!), 0);
    return [Buffer.from(b.name), header] as const;
  });
  const root = writeLeaf(rootEntries, alloc, BUCKET_LEAF_FLAG);

  const freelist = Buffer.alloc(BOLT_PAGE_BYTES);
  freelist.writeBigUInt64LE(2n, 0);
  freelist.writeUInt16LE(FLAG_FREELIST, 8);
  return [metaPage(0, root, nextId), metaPage(1, root, nextId), freelist, ...pages];
}

type Alloc = (bytes: number) => { id: number; page: Buffer };

/** A bucket's B+tree: leaves of at most a page (one oversized entry gets an overflow page), then branches. */
function writeTree(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, alloc: Alloc): number {
  if (entries.length === 0) return writeLeaf([], alloc, 0);
  let level = chunk(entries, (e) => ELEMENT_BYTES + e[0].length + e[1].length).map((part) => ({ first: part[0]![0], id: writeLeaf(part, alloc, 0) }));
  while (level.length > 1) {
    level = chunk(level, (c) => ELEMENT_BYTES + c.first.length).map((part) => ({ first: part[0]!.first, id: writeBranch(part, alloc) }));
  }
  return level[0]!.id;
}

/** Consecutive groups that fit a page (at least one item each). */
function chunk<T>(items: readonly T[], size: (t: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = HEADER_BYTES;
  for (const it of items) {
    const s = size(it);
    if (cur.length > 0 && (bytes + s > BOLT_PAGE_BYTES || cur.length >= ELEMENTS_PER_PAGE_MAX)) {
      out.push(cur);
      [cur, bytes] = [[], HEADER_BYTES];
    }
    cur.push(it);
    bytes += s;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function writeLeaf(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, alloc: Alloc, flags: number): number {
  const bytes = HEADER_BYTES + entries.reduce((n, [k, v]) => n + ELEMENT_BYTES + k.length + v.length, 0);
  const { id, page } = alloc(bytes);
  page.writeUInt16LE(FLAG_LEAF, 8);
  page.writeUInt16LE(entries.length, 10);
  let data = HEADER_BYTES + entries.length * ELEMENT_BYTES;
  entries.forEach(([k, v], i) => {
    const at = HEADER_BYTES + i * ELEMENT_BYTES;
    page.writeUInt32LE(flags, at);
    page.writeUInt32LE(data - at, at + 4);
    page.writeUInt32LE(k.length, at + 8);
    page.writeUInt32LE(v.length, at + 12);
    page.set(k, data);
    page.set(v, data + k.length);
    data += k.length + v.length;
  });
  return id;
}

function writeBranch(children: ReadonlyArray<{ first: Uint8Array; id: number }>, alloc: Alloc): number {
  const bytes = HEADER_BYTES + children.reduce((n, c) => n + ELEMENT_BYTES + c.first.length, 0);
  const { id, page } = alloc(bytes);
  page.writeUInt16LE(FLAG_BRANCH, 8);
  page.writeUInt16LE(children.length, 10);
  let data = HEADER_BYTES + children.length * ELEMENT_BYTES;
  children.forEach((c, i) => {
    const at = HEADER_BYTES + i * ELEMENT_BYTES;
    page.writeUInt32LE(data - at, at);
    page.writeUInt32LE(c.first.length, at + 4);
    page.writeBigUInt64LE(BigInt(c.id), at + 8);
    page.set(c.first, data);
    data += c.first.length;
  });
  return id;
}

function metaPage(id: number, rootPgid: number, highWater: number): Buffer {
  const page = Buffer.alloc(BOLT_PAGE_BYTES);
  page.writeBigUInt64LE(BigInt(id), 0);
  page.writeUInt16LE(FLAG_META, 8);
  const m = HEADER_BYTES;
  page.writeUInt32LE(MAGIC, m);
  page.writeUInt32LE(VERSION, m + 4);
  page.writeUInt32LE(BOLT_PAGE_BYTES, m + 8);
  page.writeUInt32LE(0, m + 12);
  page.writeBigUInt64LE(BigInt(rootPgid), m + 16);
  page.writeBigUInt64LE(0n, m + 24);
  page.writeBigUInt64LE(2n, m + 32);
  page.writeBigUInt64LE(BigInt(highWater), m + 40);
  // Both metas valid; bbolt reads the one with the higher txid.
  page.writeBigUInt64LE(BigInt(id + 1), m + 48);
  page.writeBigUInt64LE(fnv1a64(page.subarray(m, m + 56)), m + 56);
  return page;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

function fnv1a64(bytes: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV_PRIME) & U64;
  return h;
}
