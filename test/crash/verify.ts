/** After the crash run: wait for every node to catch up, then read each node's own store. */
import type { RaftkvClient, StatusResult } from '../../src/client/index.js';
import type { CrashCluster } from './procs.js';
import { waitUntil } from './procs.js';

/** Keys per page of the stale range reads. */
const PAGE_KEYS = 1000;

/** Resolves once every node has applied the same index and holds the same revision, at least `revision`. */
export async function waitConverged(c: CrashCluster, revision: number, timeoutMs: number): Promise<StatusResult[]> {
  let statuses: StatusResult[] = [];
  await waitUntil(async () => {
    statuses = await Promise.all([...c.nodes.values()].map((n) => n.local.status({ timeoutMs: 1000 })));
    const applied = new Set(statuses.map((s) => s.appliedIndex));
    const revisions = new Set(statuses.map((s) => s.kvRevision));
    return applied.size === 1 && revisions.size === 1 && statuses[0]!.kvRevision >= revision;
  }, timeoutMs, `every node to apply up to revision ${revision}`, () => `${JSON.stringify(statuses.map((s) => ({ id: s.header.memberId, applied: s.appliedIndex, commit: s.commitIndex, rev: s.kvRevision })))}\n${c.logs()}`);
  return statuses;
}

/** Every `prefix` key on one node with its mod revision, read with STALE reads (the node's own store). */
export async function readLocal(client: RaftkvClient, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let startAfter: Buffer | null = null;
  for (;;) {
    const page = await client.range({ prefix }, {
      consistency: 'stale', keysOnly: true, limit: PAGE_KEYS, timeoutMs: 5000, ...(startAfter ? { startAfter } : {}),
    });
    for (const kv of page.kvs) out.set(kv.key.toString(), kv.modRevision);
    if (!page.more || !page.nextStartAfter) return out;
    startAfter = page.nextStartAfter;
  }
}

/** Acknowledged keys missing on a node, or stored with another revision than the put returned. */
export function ackProblems(acked: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number>): string[] {
  const problems: string[] = [];
  for (const [key, revision] of acked) {
    const got = stored.get(key);
    if (got === undefined) problems.push(`${key}: missing (acknowledged at revision ${revision})`);
    else if (got !== revision) problems.push(`${key}: mod_revision ${got}, acknowledged at ${revision}`);
  }
  return problems;
}

/** The acknowledged keys in the node's revision order. */
export function ackOrder(acked: ReadonlyMap<string, number>, stored: ReadonlyMap<string, number>): string[] {
  return [...acked.keys()].filter((k) => stored.has(k)).sort((a, b) => stored.get(a)! - stored.get(b)!);
}
