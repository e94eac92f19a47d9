import { createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';

/**
 * Signed JWT tokens (etcd's `--auth-token jwt,...`), with node:crypto only. The claims are etcd's:
 * `username`, `revision` (the auth revision when it was made) and `exp` (seconds since the epoch).
 * Stateless: any member holding the public key (or the HMAC secret) verifies them.
 */
export const JWT_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type JwtMethod = (typeof JWT_METHODS)[number];

export interface JwtClaims {
  readonly username: string;
  readonly revision: number;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

export interface JwtKeys {
  readonly method: JwtMethod;
  /** PEM private key (RS/PS/ES) or the shared secret (HS). Absent: this member verifies but cannot sign. */
  readonly privateKey?: Buffer;
  /** PEM public key (RS/PS/ES); derived from the private key when absent. Unused for HS. */
  readonly publicKey?: Buffer;
}

const b64url = (b: Buffer): string => b.toString('base64url');

export class JwtTokens {
  private readonly signKey: KeyObject | Buffer | null;
  private readonly verifyKey: KeyObject | Buffer;
  private readonly hash: 'sha256' | 'sha384' | 'sha512';
  private readonly family: 'RS' | 'PS' | 'ES' | 'HS';

  constructor(
    private readonly keys: JwtKeys,
    readonly ttlMs: number,
    /** Wall-clock seconds (exp is absolute time shared by all members). */
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.family = keys.method.slice(0, 2) as JwtTokens['family'];
    this.hash = `sha${keys.method.slice(2)}` as JwtTokens['hash'];
    if (this.family === 'HS') {
      if (keys.privateKey === undefined) throw new Error(`--auth_token jwt with ${keys.method} needs priv-key (the shared secret file)`);
      this.signKey = keys.privateKey;
      this.verifyKey = keys.privateKey;
    } else {
      this.signKey = keys.privateKey === undefined ? null : createPrivateKey(keys.privateKey);
      if (keys.publicKey !== undefined) this.verifyKey = createPublicKey(keys.publicKey);
      else if (this.signKey !== null) this.verifyKey = createPublicKey(this.signKey);
      else throw new Error('--auth_token jwt needs pub-key or priv-key');
    }
  }

  canSign(): boolean {
    return this.signKey !== null;
  }

  make(username: string, revision: number): string {
    if (this.signKey === null) throw new Error('this member has no JWT private key');
    const header = b64url(Buffer.from(JSON.stringify({ alg: this.keys.method, typ: 'JWT' })));
    const claims: JwtClaims = { username, revision, exp: this.nowSeconds() + Math.ceil(this.ttlMs / 1000) };
    const body = b64url(Buffer.from(JSON.stringify(claims)));
    const input = Buffer.from(`${header}.${body}`);
    return `${header}.${body}.${b64url(this.signature(input))}`;
  }

  /** The claims of a token this cluster signed and that has not expired; null otherwise. */
  check(token: string): JwtClaims | null {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [h, b, s] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown };
      if (header.alg !== this.keys.method) return null; // never let the token choose the algorithm
      if (!this.verifySignature(Buffer.from(`${h}.${b}`), Buffer.from(s, 'base64url'))) return null;
      const c = JSON.parse(Buffer.from(b, 'base64url').toString('utf8')) as Partial<JwtClaims>;
      if (typeof c.username !== 'string' || typeof c.exp !== 'number' || typeof c.revision !== 'number') return null;
      if (c.exp <= this.nowSeconds()) return null;
      return { username: c.username, revision: c.revision, exp: c.exp };
    } catch {
      return null;
    }
  }

  private signature(input: Buffer): Buffer {
    const key = this.signKey!;
    if (this.family === 'HS') return createHmac(this.hash, key).update(input).digest();
    return sign(this.hash, input, this.keyOptions(key as KeyObject));
  }

  private verifySignature(input: Buffer, sig: Buffer): boolean {
    if (this.family === 'HS') {
      const want = createHmac(this.hash, this.verifyKey).update(input).digest();
      return want.length === sig.length && timingSafeEqual(want, sig);
    }
    return verify(this.hash, input, this.keyOptions(this.verifyKey as KeyObject), sig);
  }

  private keyOptions(key: KeyObject): { key: KeyObject; padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' } {
    if (this.family === 'PS') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    if (this.family === 'ES') return { key, dsaEncoding: 'ieee-p1363' };
    return { key };
  }
}
