import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { NodeId } from '../raft/types.js';

const FILE = 'peers.json';

/**
 * Raft addresses of the members, learned from configuration-change entries (whose context carries
 * the address) and kept in `<node dir>/peers.json`, because the entries themselves are compacted.
 */
export class AddressBook {
  private readonly addrs = new Map<NodeId, string>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<AddressBook> {
    const book = new AddressBook(dir);
    try {
      const parsed = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as Record<string, string>;
      for (const [id, addr] of Object.entries(parsed)) if (typeof addr === 'string') book.addrs.set(Number(id), addr);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return book;
  }

  get(id: NodeId): string | undefined {
    return this.addrs.get(id);
  }

  entries(): [NodeId, string][] {
    return [...this.addrs.entries()];
  }

  async set(id: NodeId, addr: string): Promise<void> {
    if (this.addrs.get(id) === addr) return;
    this.addrs.set(id, addr);
    await this.save();
  }

  async delete(id: NodeId): Promise<void> {
    if (!this.addrs.delete(id)) return;
    await this.save();
  }

  private async save(): Promise<void> {
    const obj = Object.fromEntries([...this.addrs.entries()].map(([k, v]) => [String(k), v]));
    await writeFileAtomic(join(this.dir, FILE), `${JSON.stringify(obj)}\n`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The context of a configuration change: the added member's raft address, and whether an operator
 * asked for the change (etcd's Member API) rather than autopilot. Every member reads the flag as it
 * applies the entry, so each one's autopilot holds off undoing the operator's change.
 */
export interface MemberContext {
  readonly raftAddr?: string;
  readonly operator?: boolean;
}

export function encodeMemberContext(raftAddr: string | undefined, operator = false): Uint8Array {
  const ctx: MemberContext = { ...(raftAddr !== undefined ? { raftAddr } : {}), ...(operator ? { operator } : {}) };
  return Object.keys(ctx).length === 0 ? new Uint8Array(0) : encoder.encode(JSON.stringify(ctx));
}

export function decodeMemberContext(ctx: Uint8Array): MemberContext {
  if (ctx.byteLength === 0) return {};
  try {
    const v = JSON.parse(decoder.decode(ctx)) as { raftAddr?: unknown; operator?: unknown };
    return { ...(typeof v.raftAddr === 'string' ? { raftAddr: v.raftAddr } : {}), ...(v.operator === true ? { operator: true } : {}) };
  } catch {
    return {};
  }
}
