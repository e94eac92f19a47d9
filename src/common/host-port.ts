import { InvalidArgumentError } from './errors.js';

export interface HostPort {
  /** Without brackets, also for IPv6. */
  readonly host: string;
  readonly port: number;
}

export interface HostPortRules {
  /** Listen addresses may ask for port 0 (any free port); addresses to dial may not. */
  readonly portZero?: boolean;
  /** Names the address in the error, e.g. "--grpc_addr" or "peer 2". */
  readonly what?: string;
}

/**
 * The one parser of "host:port", "[v6]:port" and "v4:port" addresses, for every flag, peer and
 * listener. Throws InvalidArgumentError on anything else (an empty host, an unbracketed IPv6
 * address, a port outside 1..65535, or 0 unless `portZero`).
 */
export function parseHostPort(address: string, rules: HostPortRules = {}): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  const portMin = rules.portZero === true ? 0 : 1;
  if (host === undefined || host.length === 0 || !Number.isInteger(port) || port < portMin || port > 65_535) {
    const what = rules.what ?? 'address';
    throw new InvalidArgumentError(`${what}: bad address "${address}", want host:port${rules.portZero === true ? '' : ' with a port from 1 to 65535'}`);
  }
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
