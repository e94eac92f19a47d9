import { Readable } from 'node:stream';
import type { StateMachine } from '../../src/node/state-machine.js';

/** A small in-memory state machine: an append-only list of commands (tests and the raft bench). */
export class MemoryStateMachine implements StateMachine {
  applied = 0;
  readonly commands: { index: number; data: string }[] = [];

  appliedIndex(): number {
    return this.applied;
  }

  async apply(index: number, data: Uint8Array): Promise<unknown> {
    this.commands.push({ index, data: Buffer.from(data).toString('utf8') });
    this.applied = index;
    return this.commands.length;
  }

  async applyNoop(index: number): Promise<void> {
    this.applied = index;
  }

  async snapshot(): Promise<{ index: number; stream: Readable }> {
    const body = Buffer.from(JSON.stringify({ applied: this.applied, commands: this.commands }));
    return { index: this.applied, stream: Readable.from([body]) };
  }

  async restore(stream: Readable): Promise<{ index: number }> {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { applied: number; commands: { index: number; data: string }[] };
    this.applied = parsed.applied;
    this.commands.length = 0;
    this.commands.push(...parsed.commands);
    return { index: this.applied };
  }
}
