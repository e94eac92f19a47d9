import { JWT_METHODS, type JwtMethod } from './jwt.js';

/** etcd's simpleTokenTTLDefault: 300 s. */
export const SIMPLE_TOKEN_TTL_S_DEFAULT = 300;
/** etcd's default JWT ttl: 5 minutes. */
export const JWT_TTL_MS_DEFAULT = 5 * 60 * 1000;

export type TokenConfig =
  | { readonly kind: 'simple' }
  | { readonly kind: 'jwt'; readonly method: JwtMethod; readonly privKeyFile?: string; readonly pubKeyFile?: string; readonly ttlMs: number };

/**
 * Parses etcd's `--auth-token` value: `simple`, or `jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>,ttl=<duration>`
 * (duration as Go writes them: 90s, 5m, 1h30m). Throws an Error naming the bad part.
 */
export function parseTokenConfig(text: string): TokenConfig {
  const [kind, ...opts] = text.split(',').map((x) => x.trim());
  if (kind === 'simple' && opts.length === 0) return { kind: 'simple' };
  if (kind !== 'jwt') throw new Error(`--auth_token: want "simple" or "jwt,...", got ${JSON.stringify(text)}`);
  let method: JwtMethod | undefined, privKeyFile: string | undefined, pubKeyFile: string | undefined, ttlMs = JWT_TTL_MS_DEFAULT;
  for (const o of opts) {
    const i = o.indexOf('=');
    const [k, v] = i < 0 ? [o, ''] : [o.slice(0, i), o.slice(i + 1)];
    if (k === 'sign-method') {
      if (!(JWT_METHODS as readonly string[]).includes(v)) throw new Error(`--auth_token: sign-method ${JSON.stringify(v)} is not one of ${JWT_METHODS.join(', ')}`);
      method = v as JwtMethod;
    } else if (k === 'priv-key') privKeyFile = v;
    else if (k === 'pub-key') pubKeyFile = v;
    else if (k === 'ttl') ttlMs = parseDurationMs(v);
    else throw new Error(`--auth_token: unknown jwt option ${JSON.stringify(k)}`);
  }
  if (method === undefined) throw new Error('--auth_token jwt needs sign-method=<alg>');
  if (privKeyFile === undefined && pubKeyFile === undefined) throw new Error('--auth_token jwt needs priv-key=<file> (and/or pub-key=<file>)');
  return { kind: 'jwt', method, ttlMs, ...(privKeyFile !== undefined ? { privKeyFile } : {}), ...(pubKeyFile !== undefined ? { pubKeyFile } : {}) };
}

/** Go-style durations: `300ms`, `90s`, `5m`, `1h30m`. */
export function parseDurationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0, consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (units[m[2]!] ?? 0);
    consumed += m[0].length;
  }
  if (text === '' || consumed !== text.length || total <= 0) throw new Error(`--auth_token: ttl ${JSON.stringify(text)} is not a positive duration such as 90s or 5m`);
  return Math.round(total);
}
