import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords are stored only as `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`: a 16-byte random salt per
 * password and scrypt (memory-hard, deliberately slow). The parameters travel with each hash, so
 * they can be raised later without breaking stored ones. Hashing happens on the member that receives
 * the request, before the command is proposed: the replicated log never holds a plain password.
 */
const SCHEME = 'scrypt';
/** N = 2^15 takes tens of ms on one core: slow for a guesser, fine for an admin call or a login. */
export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Hashes in flight on one member; a login storm beyond it waits its turn in scrypt's thread pool anyway. */
const MAXMEM_BYTES = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, o: ScryptOptions & { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, { ...o, maxmem: MAXMEM_BYTES }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params);
  return [SCHEME, params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** False for a wrong password, an empty stored hash (a user without password) or a malformed one. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const want = Buffer.from(parts[5] ?? '', 'base64');
  if (want.length !== HASH_BYTES) return false;
  const got = await derive(password, salt, { N, r, p });
  return timingSafeEqual(got, want);
}
