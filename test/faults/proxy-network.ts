/**
 * The portable fault network: every node on 127.0.0.1, every node-to-node connection through the
 * harness's fault-injecting TCP proxies (proxy.ts). One RaftProxy per destination node (the member
 * records name it as the node's raft address) and one LinkProxy per directed link for gRPC
 * forwarding (each node's --peers). Clients and the harness reach the nodes directly.
 */
import type { Random } from '../../src/common/random.js';
import { freePort } from '../support/free-port.js';
import { LinkTable } from './links.js';
import type { Degradation, FaultNetwork, NodeAddresses } from './network.js';
import { LinkProxy, RaftProxy } from './proxy.js';

interface Ports {
  readonly raft: number;
  readonly grpc: number;
  readonly raftProxy: number;
}

export class ProxyNetwork implements FaultNetwork {
  readonly mode = 'proxy' as const;
  readonly links = new LinkTable();
  private readonly ports = new Map<number, Ports>();
  private readonly raftProxies: RaftProxy[] = [];
  private readonly grpcProxies: LinkProxy[] = [];
  /** grpcLinkPort.get(`${from}>${to}`): where `from` reaches `to`'s gRPC. */
  private readonly grpcLinkPort = new Map<string, number>();

  private constructor(private readonly random: Random) {}

  static async create(ids: readonly number[], random: Random): Promise<ProxyNetwork> {
    const net = new ProxyNetwork(random);
    try {
      await net.setUp(ids);
      return net;
    } catch (e) {
      await net.close();
      throw e;
    }
  }

  private async setUp(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const raft = await freePort();
      const grpc = await freePort();
      const proxy = new RaftProxy(this.links, this.random, id, raft);
      this.raftProxies.push(proxy);
      this.ports.set(id, { raft, grpc, raftProxy: await proxy.listen() });
    }
    for (const from of ids) {
      for (const to of ids) {
        if (from === to) continue;
        const p = new LinkProxy(this.links, this.random, from, to, this.portsOf(to).grpc);
        this.grpcProxies.push(p);
        this.grpcLinkPort.set(`${from}>${to}`, await p.listen());
      }
    }
  }

  private portsOf(id: number): Ports {
    const p = this.ports.get(id);
    if (!p) throw new Error(`no node ${id} in the proxy network`);
    return p;
  }

  addresses(id: number): NodeAddresses {
    const p = this.portsOf(id);
    return { raftListen: `127.0.0.1:${p.raft}`, raftAdvertise: `127.0.0.1:${p.raftProxy}`, grpc: `127.0.0.1:${p.grpc}`, gossip: null };
  }

  peerGrpc(from: number, to: number): string {
    const port = this.grpcLinkPort.get(`${from}>${to}`);
    if (port === undefined) throw new Error(`no gRPC link ${from}>${to}`);
    return `127.0.0.1:${port}`;
  }

  command(_id: number, file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file, args: [...args] };
  }

  async cut(from: number, to: number): Promise<void> {
    this.links.set(from, to, { cut: true });
  }

  async degrade(d: Degradation): Promise<string> {
    const ids = [...this.ports.keys()];
    for (const a of ids) for (const b of ids) if (a !== b) this.links.set(a, b, d);
    return `${(d.lossRate * 100).toFixed(0)}% raft frames lost, delay ${d.delayMs}+${d.jitterMs} ms`;
  }

  async heal(): Promise<void> {
    this.links.healAll();
  }

  stats(): Record<string, number> {
    const sum = { connections: 0, refused: 0, cutConnections: 0, droppedFrames: 0 };
    for (const p of [...this.raftProxies, ...this.grpcProxies]) {
      sum.connections += p.stats.connections;
      sum.refused += p.stats.refused;
      sum.cutConnections += p.stats.cutConnections;
      sum.droppedFrames += p.stats.droppedFrames;
    }
    return sum;
  }

  async close(): Promise<void> {
    await Promise.all([...this.raftProxies, ...this.grpcProxies].map((p) => p.close()));
  }
}
