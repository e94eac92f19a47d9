import type { Message, NodeId } from '../../src/raft/types.js';
import type { TransportLimits } from '../../src/transport/raft/limits.js';
import { TcpTransport } from '../../src/transport/raft/tcp-transport.js';
import type { RaftTransportOptions, SnapshotSink } from '../../src/transport/raft/types.js';

/** Polls `condition` until it holds or the deadline passes; the failure names what was awaited. */
export async function waitFor(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Recorder {
  readonly messages: Message[];
  readonly unreachable: NodeId[];
  readonly snapshotStatus: Array<{ peerId: NodeId; ok: boolean }>;
}

export function recorder(): Recorder {
  return { messages: [], unreachable: [], snapshotStatus: [] };
}

export interface TestNode {
  readonly transport: TcpTransport;
  readonly rec: Recorder;
}

export const CLUSTER = 'test-cluster';

export async function startNode(
  id: NodeId,
  extra: Partial<RaftTransportOptions> & { port?: number; limits?: Partial<TransportLimits> } = {},
): Promise<TestNode> {
  const rec = recorder();
  const transport = new TcpTransport({
    localId: id,
    clusterId: CLUSTER,
    host: '127.0.0.1',
    port: 0,
    onMessage: (m) => rec.messages.push(m),
    onUnreachable: (p) => rec.unreachable.push(p),
    onSnapshotStatus: (peerId, ok) => rec.snapshotStatus.push({ peerId, ok }),
    ...extra,
    limits: { reconnectBackoffMsMin: 10, reconnectBackoffMsMax: 100, ...extra.limits },
  });
  await transport.start(AbortSignal.timeout(5_000));
  return { transport, rec };
}

/** Tells every node every other node's address. */
export function connectAll(nodes: readonly TestNode[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.setPeer(b.transport.localId, b.transport.addressString());
}

/** A sink that keeps the snapshot in memory, as the snapshot store would keep it in a file. */
export class MemorySink implements SnapshotSink {
  readonly chunks: Uint8Array[] = [];
  finished = false;
  aborted: unknown = null;
  constructor(private readonly failAfterBytes = Infinity) {}

  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.byteLength, 0);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.bytes + chunk.byteLength > this.failAfterBytes) throw new Error('disk full (test)');
    this.chunks.push(chunk.slice());
  }

  async finish(): Promise<void> {
    this.finished = true;
  }

  async abort(reason: unknown): Promise<void> {
    this.aborted = reason ?? 'aborted';
  }

  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
