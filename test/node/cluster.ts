import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftNode } from '../../src/node/raft-node.js';
import type { RaftNodeOptions } from '../../src/node/options.js';
import { MemoryStateMachine } from './memory-sm.js';

/** Wait for a condition with a deadline (never a fixed sleep). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface TestMember {
  id: number;
  node: RaftNode | null;
  sm: MemoryStateMachine;
  raftAddr: string;
}

/** Real RaftNodes over loopback TCP in a temp directory, with fast ticks. */
export class TestCluster {
  readonly members = new Map<number, TestMember>();

  private constructor(
    readonly dataDir: string,
    private readonly extra: Partial<RaftNodeOptions>,
  ) {}

  static async create(extra: Partial<RaftNodeOptions> = {}): Promise<TestCluster> {
    return new TestCluster(await mkdtemp(join(tmpdir(), 'raftkv-node-')), extra);
  }

  /** `keepStateMachine` restarts with the previous state machine, as a durable one would be. */
  async startNode(id: number, opts: { bootstrap?: boolean; raftAddr?: string; keepStateMachine?: boolean } = {}): Promise<TestMember> {
    const previous = this.members.get(id)?.sm;
    const sm = opts.keepStateMachine && previous ? previous : new MemoryStateMachine();
    const raftAddr = opts.raftAddr ?? this.members.get(id)?.raftAddr ?? '127.0.0.1:0';
    const node = await RaftNode.start({
      id,
      raftAddr,
      dataDir: this.dataDir,
      stateMachine: sm,
      tickMs: 20,
      electionTicks: 10,
      ...(opts.bootstrap ? { bootstrap: new Map([[id, raftAddr]]) } : {}),
      ...this.extra,
    });
    const m: TestMember = { id, node, sm, raftAddr: node.raftAddress() };
    this.members.set(id, m);
    return m;
  }

  leader(): TestMember | undefined {
    return [...this.members.values()].find((m) => m.node?.isLeader());
  }

  async waitLeader(timeoutMs = 10_000): Promise<TestMember> {
    await waitUntil(() => this.leader() !== undefined, timeoutMs, 'a leader');
    return this.leader()!;
  }

  async stopNode(id: number): Promise<void> {
    const m = this.members.get(id);
    await m?.node?.stop();
    if (m) m.node = null;
  }

  async close(): Promise<void> {
    for (const m of this.members.values()) await m.node?.stop().catch(() => undefined);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
