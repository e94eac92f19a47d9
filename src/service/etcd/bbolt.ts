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
 * Pages are handed out as they are finished (the metas last), so the file can be built on disk one
 * leaf at a time; a value may be a placeholder that the caller writes into the file afterwards.
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

/** An entry's value, or only its size: a placeholder the caller fills in the file later (`placed`). */
export type BoltValue = Uint8Array | number;

export interface BoltBucket {
  readonly name: string;
  /** Sorted by key (bytewise), keys unique. Read once, in order, so it may be a generator. */
  readonly entries: Iterable<readonly [Uint8Array, BoltValue]>;
}

/** Receives each page run (a page with its overflow pages) at its page id; may write it out. */
export type PageSink = (id: number, pages: Buffer) => void | Promise<void>;
/** Where the placeholder value of the n-th entry (0-based) of `bucket` goes: an offset in the file. */
export type ValuePlaced = (bucket: string, n: number, fileOffset: number) => void;

/**
 * Writes the database file for `buckets` (names in any order) page run by page run into `sink`, in
 * no particular order of ids; resolves with the number of pages (the file is that many pages). The
 * entries are read as they are laid out, so a large bucket never has to be in memory at once.
 */
export async function writeBolt(buckets: readonly BoltBucket[], sink: PageSink, placed: ValuePlaced = noPlaceholders): Promise<number> {
  const w = new PageWriter(sink, placed);
  const freelist = Buffer.alloc(BOLT_PAGE_BYTES);
  freelist.writeBigUInt64LE(2n, 0);
  freelist.writeUInt16LE(FLAG_FREELIST, 8);
  await sink(2, freelist);

  const named = [...buckets].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const roots: number[] = [];
  for (const b of named) roots.push(await writeTree(b, w));
  const rootEntries = named.map((b, i) => {
    const header = Buffer.alloc(16);
    header.writeBigUInt64LE(BigInt(roots[i]!), 0);
    return [Buffer.from(b.name), header] as const;
  });
  const root = await w.leaf('', rootEntries, 0, BUCKET_LEAF_FLAG);
  await sink(0, metaPage(0, root, w.nextId));
  await sink(1, metaPage(1, root, w.nextId));
  return w.nextId;
}

/** The whole file in memory, as whole pages in file order (no placeholders). */
export async function writeBoltDb(buckets: readonly BoltBucket[]): Promise<Buffer[]> {
  const byId = new Map<number, Buffer>();
  await writeBolt(buckets, (id, pages) => void byId.set(id, pages));
  return [...byId.entries()].sort((a, b) => a[0] - b[0]).map(([, page]) => page);
}

function noPlaceholders(): void {
  throw new Error('a placeholder value needs a ValuePlaced callback');
}

function valueBytes(v: BoltValue): number {
  return typeof v === 'number' ? v : v.length;
}

/** Allocates page ids in order and hands each finished page run to the sink. */
class PageWriter {
  nextId = 3;

  constructor(
    private readonly sink: PageSink,
    private readonly placed: ValuePlaced,
  ) {}

  private alloc(bytes: number): { id: number; page: Buffer } {
    const n = Math.ceil(Math.max(bytes, HEADER_BYTES) / BOLT_PAGE_BYTES);
    const page = Buffer.alloc(n * BOLT_PAGE_BYTES);
    const id = this.nextId;
    this.nextId += n;
    page.writeBigUInt64LE(BigInt(id), 0);
    page.writeUInt32LE(n - 1, 12);
    return { id, page };
  }

  /** A leaf of `entries`, the first of which is entry `firstN` of `bucket`. */
  async leaf(bucket: string, entries: ReadonlyArray<readonly [Uint8Array, BoltValue]>, firstN: number, flags: number): Promise<number> {
    const bytes = HEADER_BYTES + entries.reduce((n, [k, v]) => n + ELEMENT_BYTES + k.length + valueBytes(v), 0);
    const { id, page } = this.alloc(bytes);
    page.writeUInt16LE(FLAG_LEAF, 8);
    page.writeUInt16LE(entries.length, 10);
    let data = HEADER_BYTES + entries.length * ELEMENT_BYTES;
    entries.forEach(([k, v], i) => {
      const at = HEADER_BYTES + i * ELEMENT_BYTES;
      const size = valueBytes(v);
      page.writeUInt32LE(flags, at);
      page.writeUInt32LE(data - at, at + 4);
      page.writeUInt32LE(k.length, at + 8);
      page.writeUInt32LE(size, at + 12);
      page.set(k, data);
      if (typeof v === 'number') this.placed(bucket, firstN + i, id * BOLT_PAGE_BYTES + data + k.length);
      else page.set(v, data + k.length);
      data += k.length + size;
    });
    await this.sink(id, page);
    return id;
  }

  async branch(children: ReadonlyArray<{ first: Uint8Array; id: number }>): Promise<number> {
    const bytes = HEADER_BYTES + children.reduce((n, c) => n + ELEMENT_BYTES + c.first.length, 0);
    const { id, page } = this.alloc(bytes);
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
    await this.sink(id, page);
    return id;
  }
}

/** A bucket's B+tree: leaves of at most a page (one oversized entry gets overflow pages), then branches. */
async function writeTree(bucket: BoltBucket, w: PageWriter): Promise<number> {
  const leaves: Array<{ first: Uint8Array; id: number }> = [];
  let part: Array<readonly [Uint8Array, BoltValue]> = [];
  let bytes = HEADER_BYTES;
  let firstN = 0;
  const flush = async (): Promise<void> => {
    leaves.push({ first: part[0]?.[0] ?? new Uint8Array(0), id: await w.leaf(bucket.name, part, firstN, 0) });
    firstN += part.length;
    [part, bytes] = [[], HEADER_BYTES];
  };
  for (const e of bucket.entries) {
    const size = ELEMENT_BYTES + e[0].length + valueBytes(e[1]);
    if (part.length > 0 && (bytes + size > BOLT_PAGE_BYTES || part.length >= ELEMENTS_PER_PAGE_MAX)) await flush();
    part.push(e);
    bytes += size;
  }
  if (part.length > 0 || leaves.length === 0) await flush();
  let level = leaves;
  while (level.length > 1) {
    const next: Array<{ first: Uint8Array; id: number }> = [];
    for (const group of chunk(level, (c) => ELEMENT_BYTES + c.first.length)) next.push({ first: group[0]!.first, id: await w.branch(group) });
    level = next;
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
