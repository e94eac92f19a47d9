/**
 * The fault state of every directed link between nodes: the proxies consult it for each chunk they
 * forward, and cut links lose their live connections at once (a partition is not just "no new
 * connections").
 */

export interface LinkFaults {
  /** No traffic at all: connections are destroyed and refused. */
  readonly cut: boolean;
  /** Added one-way latency, plus up to `jitterMs` more (order is kept). */
  readonly delayMs: number;
  readonly jitterMs: number;
  /** Probability that one raft message frame is dropped (raft links only; gRPC links ignore it). */
  readonly lossRate: number;
}

export const HEALTHY: LinkFaults = { cut: false, delayMs: 0, jitterMs: 0, lossRate: 0 };

type CutListener = (from: number, to: number) => void;

export class LinkTable {
  private readonly links = new Map<string, LinkFaults>();
  private readonly cutListeners = new Set<CutListener>();

  get(from: number, to: number): LinkFaults {
    return this.links.get(`${from}>${to}`) ?? HEALTHY;
  }

  set(from: number, to: number, faults: Partial<LinkFaults>): void {
    const next = { ...this.get(from, to), ...faults };
    this.links.set(`${from}>${to}`, next);
    if (next.cut) for (const l of this.cutListeners) l(from, to);
  }

  healAll(): void {
    this.links.clear();
  }

  onCut(listener: CutListener): () => void {
    this.cutListeners.add(listener);
    return () => this.cutListeners.delete(listener);
  }
}
