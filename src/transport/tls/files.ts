import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ErrorCode, RaftkvError } from '../../common/errors.js';

/** How often a watched certificate, key or CA file is stat'ed for changes (fs.watchFile polls). */
export const TLS_WATCH_INTERVAL_MS = 2_000;

/** Where one endpoint's TLS material lives: its certificate and key, and the CAs it trusts. */
export interface TlsPaths {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM bundles of CAs whose certificates this endpoint accepts from the other side. */
  readonly caFiles: readonly string[];
}

/** The files' contents, checked: the key matches the certificate and every PEM parses. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The CA bundles concatenated; null without caFiles. */
  readonly ca: Buffer | null;
  /** Each trusted CA certificate, for checking which CA issued a peer's certificate. */
  readonly caCerts: readonly X509Certificate[];
}

export class TlsConfigError extends RaftkvError {
  override readonly name = 'TlsConfigError';
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
  }
}

/**
 * One endpoint's certificate, key and trusted CAs, read from files and re-read on reload() (SIGHUP)
 * or, after watch(), when a file changes. A reload that fails (half-written file, key not matching
 * the certificate) keeps the material in use and reports the error: a node never drops its
 * listeners over a bad rotation.
 */
export class TlsFiles {
  private current: TlsMaterial;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private watching = false;
  private context: SecureContext | null = null;

  constructor(readonly paths: TlsPaths) {
    this.current = readMaterial(paths);
  }

  get material(): TlsMaterial {
    return this.current;
  }

  /** Options for tls.createServer / setSecureContext / tls.connect. */
  contextOptions(): SecureContextOptions {
    const m = this.current;
    return { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}) };
  }

  /** The current material as a SecureContext for tls.connect, built once per reload. */
  secureContext(): SecureContext {
    return (this.context ??= createSecureContext(this.contextOptions()));
  }

  /** Re-reads the files; listeners run only when the contents changed. Throws TlsConfigError and keeps the old material. */
  reload(): boolean {
    const next = readMaterial(this.paths);
    const old = this.current;
    if (next.cert.equals(old.cert) && next.key.equals(old.key) && sameBytes(next.ca, old.ca)) return false;
    this.current = next;
    this.context = null;
    for (const l of this.listeners) l(next);
    return true;
  }

  onChange(listener: (m: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reloads when any of the files changes; `onError` hears a reload that failed. */
  watch(onError: (err: unknown) => void, intervalMs = TLS_WATCH_INTERVAL_MS): void {
    if (this.watching) return;
    this.watching = true;
    for (const f of this.files()) watchFile(f, { interval: intervalMs, persistent: false }, this.onFileChange(onError));
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const f of this.files()) unwatchFile(f);
  }

  private files(): string[] {
    return [this.paths.certFile, this.paths.keyFile, ...this.paths.caFiles];
  }

  private onFileChange(onError: (err: unknown) => void): (cur: Stats, prev: Stats) => void {
    return (cur, prev) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
      try {
        this.reload();
      } catch (e) {
        onError(e);
      }
    };
  }
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function readMaterial(p: TlsPaths): TlsMaterial {
  const cert = readPem(p.certFile, 'certificate');
  const key = readPem(p.keyFile, 'key');
  const cas = p.caFiles.map((f) => readPem(f, 'CA bundle'));
  const ca = cas.length > 0 ? Buffer.concat(cas.map((b) => Buffer.concat([b, Buffer.from('\n')]))) : null;
  try {
    // Fails on a key that does not match the certificate, or an unparsable PEM.
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (e) {
    throw new TlsConfigError(`bad TLS material (${p.certFile}, ${p.keyFile}): ${(e as Error).message}`);
  }
  return { cert, key, ca, caCerts: cas.flatMap((b, i) => splitCerts(b, p.caFiles[i]!)) };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TlsConfigError(`cannot read TLS ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function splitCerts(bundle: Buffer, file: string): X509Certificate[] {
  const pems = bundle.toString('utf8').match(PEM_CERT) ?? [];
  if (pems.length === 0) throw new TlsConfigError(`CA bundle ${file} holds no PEM certificate`);
  return pems.map((pem) => new X509Certificate(pem));
}

/** True when `raw` (a DER certificate) was signed by one of `cas`. */
export function issuedByOneOf(raw: Buffer, cas: readonly X509Certificate[]): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(raw);
  } catch {
    return false;
  }
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}
