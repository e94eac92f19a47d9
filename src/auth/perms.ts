import { PermType, type Permission } from './types.js';

/** A half-open key interval; `end` null = to the last key. */
export interface KeyInterval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | null;
}

/** The smallest key after `key`: a single key k is the interval [k, k + "\0"). */
export function keySuccessor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key, 0);
  return out;
}

/** etcd's key/range_end rules: empty range_end = the key, "\0" = from key on, else [key, range_end). */
export function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): KeyInterval {
  if (rangeEnd.length === 0) return { start: key, end: keySuccessor(key) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: null };
  return { start: key, end: rangeEnd };
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Does `perm` grant `want` (READWRITE grants both)? */
export function grants(perm: PermType, want: 'read' | 'write'): boolean {
  return perm === PermType.ReadWrite || (want === 'read' ? perm === PermType.Read : perm === PermType.Write);
}

/**
 * etcd's rule: a request is allowed when the union of the permitted intervals covers the whole
 * requested interval (several adjacent grants may cover it together). An empty request is covered.
 */
export function covers(perms: readonly Permission[], want: 'read' | 'write', req: KeyInterval): boolean {
  if (req.end !== null && cmp(req.end, req.start) <= 0) return true;
  const spans = perms
    .filter((p) => grants(p.type, want))
    .map((p) => intervalOf(p.key, p.rangeEnd))
    .sort((a, b) => cmp(a.start, b.start));
  let reached = req.start; // everything in [req.start, reached) is covered
  for (const s of spans) {
    if (cmp(s.start, reached) > 0) break; // a gap before this span
    if (s.end === null) return true;
    if (cmp(s.end, reached) > 0) reached = s.end;
    if (req.end !== null && cmp(reached, req.end) >= 0) return true;
  }
  return false;
}
