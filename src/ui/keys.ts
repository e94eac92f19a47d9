import type { KvSource } from './sources.js';

/** Keys per page of the key browser; a request for more gets this many. */
export const KEYS_PAGE_MAX = 100;
export const KEYS_PAGE_DEFAULT = 25;
/** Bytes of each value sent to the browser; the full size is shown beside it. */
export const VALUE_PREVIEW_BYTES = 256;
/** A prefix longer than this is refused (the store's key limit is larger; a browser needs less). */
export const PREFIX_BYTES_MAX = 1024;

export class KeyQueryError extends Error {}

export interface KeyPage {
  /** The revision of the local store the page was read at (stale: this node's applied state). */
  readonly revision: number;
  /** Keys from this page's first to the end of the prefix (the store counts from the cursor on). */
  readonly remaining: number;
  readonly more: boolean;
  /** Pass back as `after` for the next page (base64url of the last key); empty at the end. */
  readonly next: string;
  readonly kvs: ReadonlyArray<{ key: string; value: string; valueBytes: number; truncated: boolean; binary: boolean; createRevision: number; modRevision: number; version: number }>;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Text when the bytes are UTF-8 without control characters, else base64 (flagged `binary`). */
function show(bytes: Uint8Array): { text: string; binary: boolean } {
  try {
    const text = decoder.decode(bytes);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text, binary: false };
  } catch {
    // not UTF-8: fall through
  }
  return { text: Buffer.from(bytes).toString('base64'), binary: true };
}

/** One page of keys under `prefix` (text), after the cursor `after`, read from the local store. */
export async function readKeyPage(kv: KvSource, q: URLSearchParams): Promise<KeyPage> {
  const prefix = Buffer.from(q.get('prefix') ?? '', 'utf8');
  if (prefix.length > PREFIX_BYTES_MAX) throw new KeyQueryError(`prefix is ${prefix.length} bytes, at most ${PREFIX_BYTES_MAX}`);
  const after = q.get('after') ?? '';
  if (!/^[A-Za-z0-9_-]*$/.test(after)) throw new KeyQueryError('after must be the `next` cursor of a previous page');
  const limitText = q.get('limit');
  const limit = limitText === null ? KEYS_PAGE_DEFAULT : Number(limitText);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new KeyQueryError(`limit must be a positive integer, got ${limitText}`);
  const empty = new Uint8Array(0);
  const r = await kv.range({ prefix, start: empty, end: empty, limit: Math.min(limit, KEYS_PAGE_MAX), startAfter: Buffer.from(after, 'base64url'), keysOnly: false, countOnly: false });
  return {
    revision: r.revision, remaining: r.count, more: r.more,
    next: r.more ? Buffer.from(r.nextStartAfter).toString('base64url') : '',
    kvs: r.kvs.map((kv) => {
      const key = show(kv.key);
      const value = show(kv.value.subarray(0, VALUE_PREVIEW_BYTES));
      return {
        key: key.binary ? `base64:${key.text}` : key.text, value: value.text, valueBytes: kv.value.length, truncated: kv.value.length > VALUE_PREVIEW_BYTES,
        binary: value.binary, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version,
      };
    }),
  };
}
