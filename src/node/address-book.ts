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

/** The context of a conf change that adds a member: its raft address. */
export function encodeMemberContext(raftAddr: string): Uint8Array {
  return encoder.encode(JSON.stringify({ raftAddr }));
}

export function decodeMemberContext(ctx: Uint8Array): { raftAddr?: string } {
  if (ctx.byteLength === 0) return {};
  try {
    const v = JSON.parse(decoder.decode(ctx)) as { raftAddr?: unknown };
    return typeof v.raftAddr === 'string' ? { raftAddr: v.raftAddr } : {};
  } catch {
    return {};
  }
}
