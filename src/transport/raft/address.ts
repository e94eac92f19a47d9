import { InvalidArgumentError } from '../../common/errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port", "[v6]:port" or "v4:port". Throws InvalidArgumentError on anything else. */
export function parseHostPort(address: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`bad peer address "${address}": expected host:port`);
  }
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
