import type { Readable } from 'node:stream';

/**
 * What the node applies committed entries to. Entries arrive in index order exactly once per
 * process lifetime; after a restart the node re-delivers every entry after `appliedIndex()`.
 */
export interface StateMachine {
  appliedIndex(): number;
  /** Apply a committed command at `index`; the result is handed to whoever proposed it. */
  apply(index: number, data: Uint8Array): Promise<unknown>;
  /**
   * Optional: apply consecutive committed commands as one write; results in the same order and the
   * same state as applying them one by one. The node uses it when present.
   */
  applyBatch?(entries: ReadonlyArray<{ readonly index: number; readonly data: Uint8Array }>): Promise<unknown[]>;
  /** Advance over an entry that carries no command (a leader's no-op, a configuration change). */
  applyNoop(index: number): Promise<void>;
  /** A consistent view as of `index` (== appliedIndex() when called), streamed. */
  snapshot(): Promise<{ index: number; stream: Readable }>;
  /** Replace the whole state with a snapshot's data. */
  restore(stream: Readable, opts: { signal?: AbortSignal }): Promise<{ index: number }>;
}
