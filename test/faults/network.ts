/**
 * The network a fault cluster runs on, and the network faults the nemesis can inject into it.
 *
 * Two implementations:
 *  - NetnsNetwork (netns.ts): every node in its own network namespace on a bridge; partitions and
 *    packet loss are nftables drop rules inside the namespaces. Real packets are lost: TCP stalls,
 *    retransmits and backs off. Needs root, `ip` and `nft`.
 *  - ProxyNetwork (proxy-network.ts): everything on 127.0.0.1 through fault-injecting TCP proxies;
 *    partitions close connections, loss drops whole raft frames, and it adds delay. Needs nothing.
 */

export type NetworkMode = 'netns' | 'proxy';

export interface NodeAddresses {
  /** Where the node listens for raft (--raft_addr). */
  readonly raftListen: string;
  /** The raft address the other members dial (recorded in the configuration entries). */
  readonly raftAdvertise: string;
  /** Where the node listens for gRPC, and where clients and the harness reach it. */
  readonly grpc: string;
  /** Gossip (UDP and TCP), only where the network can fault it (netns); null behind the proxies. */
  readonly gossip: string | null;
}

export interface Degradation {
  /** Fraction of node-to-node packets (netns) or raft frames (proxy) dropped. */
  readonly lossRate: number;
  /** Added one-way latency and jitter; only the proxy network can delay. */
  readonly delayMs: number;
  readonly jitterMs: number;
}

export interface FaultNetwork {
  readonly mode: NetworkMode;
  addresses(id: number): NodeAddresses;
  /** The address node `from` uses to forward gRPC requests to node `to` (its --peers entry). */
  peerGrpc(from: number, to: number): string;
  /** How to start a node's process: the command, wrapped into the node's namespace if it has one. */
  command(id: number, file: string, args: readonly string[]): { file: string; args: string[] };
  /** Stop all traffic from `from` to `to` (one direction). */
  cut(from: number, to: number): Promise<void>;
  /** Lose (and with the proxies, delay) traffic on every node-to-node link. Returns what was applied. */
  degrade(d: Degradation): Promise<string>;
  /** Remove every network fault. */
  heal(): Promise<void>;
  /** Counters for the run summary. */
  stats(): Record<string, number>;
  close(): Promise<void>;
}

/** Cut both directions between every node of `a` and every node of `b`. */
export async function cutBetween(net: FaultNetwork, a: readonly number[], b: readonly number[]): Promise<void> {
  for (const x of a) {
    for (const y of b) {
      if (x === y) continue;
      await net.cut(x, y);
      await net.cut(y, x);
    }
  }
}
