/** The crash test's writer: unique keys `w/<seq>`, records which writes were acknowledged. */
import type { RaftkvClient } from '../../src/client/index.js';

/** Deadline of one put, retries included; after it the write's outcome is unknown. */
const PUT_TIMEOUT_MS = 3000;

export function writeKey(seq: number): string {
  return `w/${String(seq).padStart(8, '0')}`;
}

export class Writer {
  /** Acknowledged key -> the revision the put returned. */
  readonly acked = new Map<string, number>();
  /** Writes that failed (outcome unknown), by error name. */
  readonly failures = new Map<string, number>();
  private seq = 0;
  private readonly stopCtl = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly client: RaftkvClient) {}

  start(concurrency: number): void {
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  private async loop(): Promise<void> {
    const signal = this.stopCtl.signal;
    while (!signal.aborted) {
      const key = writeKey(this.seq++);
      try {
        const r = await this.client.put(key, key, { timeoutMs: PUT_TIMEOUT_MS, signal });
        this.acked.set(key, r.revision);
      } catch (e) {
        const name = (e as Error).name ?? 'Error';
        this.failures.set(name, (this.failures.get(name) ?? 0) + 1);
      }
    }
  }

  /** Stop issuing writes; writes in flight are cancelled (their outcome stays unknown). */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await Promise.all(this.loops);
  }
}
