import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { GossipKeyringError } from './errors.js';

/**
 * AES-256-GCM keyring for gossip packets and push/pull payloads, as memberlist's keyring: the primary
 * key encrypts, every installed key is tried to decrypt. Rotation without downtime: install the new
 * key everywhere (`addKey`), make it primary everywhere (`useKey`), then `removeKey` the old one.
 * Wire: [version 1][nonce 12][ciphertext][tag 16]; `label` (e.g. a cluster name) is authenticated
 * as additional data, so packets of another cluster with the same key are rejected.
 */
const ENCRYPTION_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEYS_MAX = 16;
export const ENCRYPTION_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

export class Keyring {
  private keys: Buffer[] = [];

  constructor(primary: Uint8Array, others: readonly Uint8Array[] = [], private readonly label = '') {
    this.addKey(primary);
    for (const k of others) this.addKey(k);
  }

  get primaryKey(): Uint8Array {
    return new Uint8Array(this.keys[0] as Buffer);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Every installed key, primary first (copies). */
  allKeys(): Uint8Array[] {
    return this.keys.map((k) => new Uint8Array(k));
  }

  addKey(key: Uint8Array): void {
    if (key.length !== KEY_BYTES) throw new GossipKeyringError(`gossip keys are ${KEY_BYTES} bytes (AES-256), got ${key.length}`);
    if (this.indexOf(key) >= 0) return;
    if (this.keys.length >= KEYS_MAX) throw new GossipKeyringError(`keyring holds at most ${KEYS_MAX} keys`);
    this.keys.push(Buffer.from(key));
  }

  useKey(key: Uint8Array): void {
    const i = this.indexOf(key);
    if (i < 0) throw new GossipKeyringError('cannot use a key that is not installed');
    const [k] = this.keys.splice(i, 1);
    this.keys.unshift(k as Buffer);
  }

  removeKey(key: Uint8Array): void {
    const i = this.indexOf(key);
    if (i === 0) throw new GossipKeyringError('cannot remove the primary key; use another key first');
    if (i > 0) this.keys.splice(i, 1);
  }

  encrypt(plain: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0] as Buffer, nonce);
    cipher.setAAD(Buffer.from(this.label, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(ENCRYPTION_VERSION), nonce, body, cipher.getAuthTag()]);
  }

  /** The plaintext, or null when no installed key authenticates the message. */
  decrypt(sealed: Uint8Array): Uint8Array | null {
    if (sealed.length < ENCRYPTION_OVERHEAD_BYTES || sealed[0] !== ENCRYPTION_VERSION) return null;
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const nonce = buf.subarray(1, 1 + NONCE_BYTES);
    const body = buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES);
    const tag = buf.subarray(buf.length - TAG_BYTES);
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(Buffer.from(this.label, 'utf8'));
        d.setAuthTag(tag);
        return new Uint8Array(Buffer.concat([d.update(body), d.final()]));
      } catch {
        // Wrong key (or tampering): try the next one.
      }
    }
    return null;
  }

  private indexOf(key: Uint8Array): number {
    return this.keys.findIndex((k) => k.length === key.length && timingSafeEqual(k, key));
  }
}
