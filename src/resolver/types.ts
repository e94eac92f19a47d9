/**
 * Where a node's gRPC endpoint is. The service layer asks raft who leads, then the resolver where
 * that leader listens; nothing else keeps addresses (DESIGN.md "Resolver").
 */
export interface AddressResolver {
  /** host:port of the node's gRPC server, or undefined when it is not known (yet). */
  grpcAddress(nodeId: number): string | undefined;
  /** Every known node id and its gRPC address. */
  entries(): ReadonlyMap<number, string>;
  /** Called whenever an address appears, changes or disappears; returns an unsubscribe function. */
  onChange(listener: (nodeId: number, grpcAddr: string | undefined) => void): () => void;
  close(): void;
}
