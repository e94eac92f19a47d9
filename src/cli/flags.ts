/** A tiny, strict flag parser: every flag is declared, documented, typed and validated. */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  readonly name: string;
  readonly kind: 'string' | 'int' | 'bool';
  readonly help: string;
  readonly required?: boolean;
  readonly default?: string | number | boolean;
  /** Listed under "advanced" in --help. */
  readonly advanced?: boolean;
  readonly check?: (v: string | number | boolean) => string | null;
}

export type FlagValues = Map<string, string | number | boolean>;

/** Parses `--name value`, `--name=value` and bare `--bool`; throws UsageError with one clear line. */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[]): FlagValues {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: FlagValues = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (flags look like --name=value)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name} (see --help)`);
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`flag --${name} needs a value`);
      raw = next;
      i++;
    }
    out.set(name, convert(spec, raw));
  }
  for (const spec of specs) {
    if (!out.has(spec.name) && spec.default !== undefined) out.set(spec.name, spec.default);
    if (!out.has(spec.name) && spec.required) throw new UsageError(`missing required flag --${spec.name} (${spec.help})`);
    const v = out.get(spec.name);
    const problem = v === undefined ? null : (spec.check?.(v) ?? null);
    if (problem !== null) throw new UsageError(`invalid --${spec.name}: ${problem}`);
  }
  return out;
}

function convert(spec: FlagSpec, raw: string): string | number | boolean {
  if (spec.kind === 'string') return raw;
  if (spec.kind === 'bool') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new UsageError(`invalid --${spec.name}: "${raw}" is not true or false`);
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n)) throw new UsageError(`invalid --${spec.name}: "${raw}" is not an integer`);
  return n;
}

export function usage(title: string, specs: readonly FlagSpec[]): string {
  const line = (s: FlagSpec): string => {
    const def = s.default !== undefined ? ` (default ${JSON.stringify(s.default)})` : s.required ? ' (required)' : '';
    return `  --${s.name}${s.kind === 'bool' ? '' : `=<${s.kind}>`}\n      ${s.help}${def}`;
  };
  const basic = specs.filter((s) => !s.advanced).map(line);
  const advanced = specs.filter((s) => s.advanced).map(line);
  return [title, '', 'Flags:', ...basic, ...(advanced.length > 0 ? ['', 'Advanced (tuning and tests):', ...advanced] : [])].join('\n');
}
