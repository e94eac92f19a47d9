import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CorruptionError, InvalidArgumentError } from '../common/errors.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { Keyring } from '../transport/gossip/keyring.js';

const KEY_BYTES = 32;
/** The keyring file's name in the node's directory, unless --gossip_keyring_file names another. */
export const GOSSIP_KEYRING_FILE = 'gossip-keyring.json';

/**
 * The gossip keyring and the file that keeps it across restarts (Consul's local.keyring): a JSON
 * array of base64 keys, primary first. Once the file exists it wins over --gossip_key, so a member
 * restarted after a rotation keeps the keys the cluster uses now, not the one on its command line.
 * Every change is written (atomically) before it is acknowledged.
 */
export class GossipKeyring {
  private constructor(
    readonly keyring: Keyring,
    private readonly file: string | null,
  ) {}

  /**
   * Loads `file` if it exists, else starts from `initialKey` and writes the file; null when there
   * is neither (gossip unencrypted). Without a file path the keyring lives in memory only.
   */
  static async openIfAny(file: string | null, initialKey: Uint8Array | null, label = ''): Promise<GossipKeyring | null> {
    const stored = file === null ? null : await readKeyFile(file);
    const keys = stored ?? (initialKey ? [initialKey] : null);
    if (keys === null) return null;
    const k = new GossipKeyring(new Keyring(keys[0]!, keys.slice(1), label), file);
    if (stored === null) await k.persist();
    return k;
  }

  /** Fingerprints of the installed keys, primary first. */
  fingerprints(): string[] {
    return this.keyring.allKeys().map(fingerprint);
  }

  async install(keyBase64: string): Promise<void> {
    this.keyring.addKey(parseKey(keyBase64));
    await this.persist();
  }

  async use(keyBase64: string): Promise<void> {
    this.keyring.useKey(parseKey(keyBase64));
    await this.persist();
  }

  async remove(keyBase64: string): Promise<void> {
    this.keyring.removeKey(parseKey(keyBase64));
    await this.persist();
  }

  private async persist(): Promise<void> {
    if (this.file === null) return;
    const body = JSON.stringify(this.keyring.allKeys().map((k) => Buffer.from(k).toString('base64')));
    await writeFileAtomic(this.file, `${body}\n`);
  }
}

/** First 8 bytes of SHA-256, hex: names a key without revealing it. */
export function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function parseKey(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== KEY_BYTES || bytes.toString('base64') !== text) {
    throw new InvalidArgumentError(`a gossip key is base64 of exactly ${KEY_BYTES} bytes (openssl rand -base64 32)`);
  }
  return new Uint8Array(bytes);
}

async function readKeyFile(file: string): Promise<Uint8Array[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CorruptionError(`gossip keyring file ${file} is not JSON`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((k) => typeof k === 'string')) {
    throw new CorruptionError(`gossip keyring file ${file} must hold a non-empty JSON array of base64 keys`);
  }
  try {
    return parsed.map((k) => parseKey(k));
  } catch (e) {
    throw new CorruptionError(`gossip keyring file ${file}: ${(e as Error).message}`);
  }
}
