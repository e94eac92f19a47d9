/** A tiny argv parser for the client commands: `--flag value`, `--flag=value`, boolean `--flag`. */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type FlagKind = 'bool' | 'string' | 'int';

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: ReadonlyMap<string, string | true>;
}

/** Splits argv into positionals and known flags; unknown flags and missing values are usage errors. */
export function parseArgs(argv: readonly string[], known: ReadonlyMap<string, FlagKind>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = known.get(name);
    if (kind === undefined) throw new UsageError(`unknown flag --${name}`);
    if (flags.has(name)) throw new UsageError(`flag --${name} given twice`);
    if (kind === 'bool') {
      if (eq !== -1) throw new UsageError(`flag --${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`flag --${name} needs a value`);
    if (kind === 'int') value = String(parseIntFlag(name, value));
    flags.set(name, value);
  }
  return { positionals, flags };
}

export function parseIntFlag(name: string, value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${name} needs a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

export function parseId(what: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A lease id as etcdctl spells it: hexadecimal (0x optional), positive, below 2^53. */
export function parseLeaseId(value: string): number {
  const hex = value.replace(/^0x/i, '');
  const id = /^[0-9a-fA-F]{1,14}$/.test(hex) ? parseInt(hex, 16) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw new UsageError(`lease ID must be a hexadecimal id from raftkv lease grant (1..${Number.MAX_SAFE_INTEGER.toString(16)}), got ${JSON.stringify(value)}`);
  return id;
}

/** A lease id as etcdctl prints it. */
export function leaseHex(id: number): string {
  return id.toString(16);
}
