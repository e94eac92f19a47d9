import { readFileSync } from 'node:fs';

/**
 * This package's version, from package.json: `raftkv status` reports it and gossip publishes it.
 * package.json sits two directories up from both src/common (under tsx) and dist/common (built).
 */
export const PACKAGE_VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
