import { parseHostPort } from '../common/host-port.js';
import { InvalidArgumentError } from '../common/errors.js';
import type { AddressResolver } from './types.js';

/** Listeners per resolver; a leak (subscribe without unsubscribe) fails loudly instead of growing. */
const LISTENERS_MAX = 64;

/**
 * A fixed map of node id -> gRPC address (from `--peers`), plus addresses learned at run time with
 * `set` (e.g. this node's own bound address when it listens on port 0).
 */
export class StaticResolver implements AddressResolver {
  private readonly addrs: Map<number, string>;
  private readonly listeners = new Set<(nodeId: number, grpcAddr: string | undefined) => void>();
  private closed = false;

  constructor(initial: ReadonlyMap<number, string> = new Map()) {
    this.addrs = new Map(initial);
  }

  grpcAddress(nodeId: number): string | undefined {
    return this.addrs.get(nodeId);
  }

  entries(): ReadonlyMap<number, string> {
    return this.addrs;
  }

  set(nodeId: number, grpcAddr: string | undefined): void {
    if (this.closed || this.addrs.get(nodeId) === grpcAddr) return;
    if (grpcAddr === undefined) this.addrs.delete(nodeId);
    else this.addrs.set(nodeId, grpcAddr);
    for (const l of this.listeners) l(nodeId, grpcAddr);
  }

  onChange(listener: (nodeId: number, grpcAddr: string | undefined) => void): () => void {
    if (this.listeners.size >= LISTENERS_MAX) throw new Error(`resolver listeners exceed ${LISTENERS_MAX}`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }
}

/** Parses `1=127.0.0.1:7001,2=host:7002` (an empty string gives an empty map). */
export function parsePeers(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    const id = Number(part.slice(0, eq));
    const addr = part.slice(eq + 1);
    if (eq <= 0 || !Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError(`bad peer "${part}": want id=host:port with a positive integer id`);
    checkHostPort(addr, `peer ${id}`);
    if (out.has(id)) throw new InvalidArgumentError(`peer ${id} is listed twice`);
    out.set(id, addr);
  }
  return out;
}

/** host:port with a port in 0..65535 (IPv6 hosts in brackets); throws InvalidArgumentError naming `what`. */
export function checkHostPort(addr: string, what: string): void {
  parseHostPort(addr, { portZero: true, what });
}
