import { randomInt } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { AuthLimits } from './limits.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TOKEN_LETTERS = 16;

/** etcd's simple token form: 16 random letters, a dot, and a number (here: a per-member counter). */
export function newSimpleToken(counter: number): string {
  let s = '';
  for (let i = 0; i < TOKEN_LETTERS; i++) s += LETTERS[randomInt(LETTERS.length)];
  return `${s}.${counter}`;
}

/**
 * etcd's simple tokens: opaque strings that every member learns by applying the Authenticate command,
 * kept in memory only (lost on restart, dropped when auth is disabled or the user is deleted or
 * changes password). Each use extends the token's life to `ttlMs` from now on the member that saw
 * the use, as etcd's; expiry is checked when a token is looked up.
 */
export class SimpleTokens {
  private readonly tokens = new Map<string, { readonly user: string; expiresAtMs: number }>();

  constructor(
    private readonly clock: Clock,
    readonly ttlMs: number,
    private readonly max = AuthLimits.tokensMax,
  ) {}

  add(token: string, user: string): void {
    if (this.tokens.size >= this.max) this.dropSoonest();
    this.tokens.set(token, { user, expiresAtMs: this.clock.nowMs() + this.ttlMs });
  }

  /** The token's user, or null if it is unknown or expired; a hit extends its life. */
  user(token: string): string | null {
    const t = this.tokens.get(token);
    if (t === undefined) return null;
    const now = this.clock.nowMs();
    if (now >= t.expiresAtMs) {
      this.tokens.delete(token);
      return null;
    }
    t.expiresAtMs = now + this.ttlMs;
    return t.user;
  }

  invalidateUser(user: string): void {
    for (const [k, t] of this.tokens) if (t.user === user) this.tokens.delete(k);
  }

  clear(): void {
    this.tokens.clear();
  }

  get size(): number {
    return this.tokens.size;
  }

  private dropSoonest(): void {
    const now = this.clock.nowMs();
    let soonest: string | null = null;
    let at = Infinity;
    for (const [k, t] of this.tokens) {
      if (t.expiresAtMs <= now) this.tokens.delete(k);
      else if (t.expiresAtMs < at) [soonest, at] = [k, t.expiresAtMs];
    }
    if (this.tokens.size >= this.max && soonest !== null) this.tokens.delete(soonest);
  }
}
