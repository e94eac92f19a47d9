import type { Readable } from 'node:stream';
import type { KvStore } from '../kv/store.js';
import type { CommandResult } from '../kv/types.js';
import type { StateMachine } from './state-machine.js';

/** Adapts the KV store to the raft node's StateMachine: the apply result goes to the proposer as is. */
export class KvStateMachine implements StateMachine {
  constructor(readonly store: KvStore) {}

  appliedIndex(): number {
    return this.store.appliedIndex();
  }

  apply(index: number, data: Uint8Array): Promise<CommandResult> {
    return this.store.apply(index, data);
  }

  applyBatch(entries: ReadonlyArray<{ readonly index: number; readonly data: Uint8Array }>): Promise<CommandResult[]> {
    return this.store.applyBatch(entries);
  }

  applyNoop(index: number): Promise<void> {
    return this.store.applyNoop(index);
  }

  async snapshot(): Promise<{ index: number; stream: Readable }> {
    const { index, stream } = await this.store.snapshot();
    return { index, stream };
  }

  async restore(stream: Readable, opts: { signal?: AbortSignal }): Promise<{ index: number }> {
    const { index } = await this.store.restore(stream, opts);
    return { index };
  }
}
