import type { SeededRandom } from '../../src/common/random.js';
import { decodeConfChange } from '../../src/raft/confchange.js';
import type { BrokenRules } from '../../src/raft/config.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { EntryType, type ConfChange, type ConfState, type Entry, type NodeId, type Ready, type Snapshot } from '../../src/raft/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The replicated state machine of the simulation: the ordered list of applied commands. */
export interface SimState {
  applied: number;
  values: { index: number; term: number; value: string }[];
}

export function encodeState(s: SimState): Uint8Array {
  return encoder.encode(JSON.stringify(s));
}

export function decodeState(data: Uint8Array): SimState {
  if (data.byteLength === 0) return { applied: 0, values: [] };
  return JSON.parse(decoder.decode(data)) as SimState;
}

export interface SimNodeHooks {
  onApply(node: SimNode, e: Entry): void;
  onConfChange(node: SimNode, cc: ConfChange, conf: ConfState): void;
  onRestore(node: SimNode, snap: Snapshot): void;
}

export interface SimNodeOptions {
  electionTicks: number;
  snapshotEveryEntries: number;
  trailingEntries: number;
  broken?: BrokenRules;
}

/**
 * One simulated server: a durable MemoryStorage that survives crashes, and volatile state (the core
 * and the state machine) that a crash discards. `handleReady` is the driver loop of a real node.
 */
export class SimNode {
  readonly storage = new MemoryStorage();
  raw: RawNode | null = null;
  state: SimState = { applied: 0, values: [] };
  conf: ConfState = { voters: [], learners: [] };
  removed = false;
  downUntil = 0;

  constructor(
    readonly id: NodeId,
    private readonly rng: SeededRandom,
    private readonly options: SimNodeOptions,
  ) {}

  get up(): boolean {
    return this.raw !== null;
  }

  start(): void {
    const snap = this.storage.snapshot();
    this.state = decodeState(snap.data);
    this.conf = snap.meta.conf;
    this.raw = new RawNode(
      {
        id: this.id,
        random: this.rng.fork(),
        electionTicks: this.options.electionTicks,
        heartbeatTicks: 1,
        appendBytesMax: 4096,
        inflightMessagesMax: 8,
        inflightBytesMax: 64 * 1024,
        applied: snap.meta.index,
        ...(this.options.broken ? { broken: this.options.broken } : {}),
      },
      this.storage,
    );
  }

  crash(): void {
    this.raw = null;
  }

  /** Persist what the Ready asks, in the contract's order. Send functions are the cluster's. */
  persist(rd: Ready, hooks: SimNodeHooks): void {
    if (rd.snapshot) {
      this.storage.applySnapshot(rd.snapshot);
      this.state = decodeState(rd.snapshot.data);
      this.conf = rd.snapshot.meta.conf;
      hooks.onRestore(this, rd.snapshot);
    }
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
  }

  apply(rd: Ready, hooks: SimNodeHooks): void {
    for (const e of rd.committedEntries) {
      if (e.index <= this.state.applied) continue;
      hooks.onApply(this, e);
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        this.conf = this.raw!.applyConfChange(cc);
        hooks.onConfChange(this, cc, this.conf);
      } else if (e.data.byteLength > 0) {
        this.state.values.push({ index: e.index, term: e.term, value: decoder.decode(e.data) });
      }
      this.state.applied = e.index;
    }
    this.maybeSnapshot();
  }

  private maybeSnapshot(): void {
    const snapIndex = this.storage.snapshot().meta.index;
    if (this.state.applied - snapIndex < this.options.snapshotEveryEntries) return;
    this.storage.createSnapshot(this.state.applied, this.conf, encodeState(this.state));
    const compactTo = this.state.applied - this.options.trailingEntries;
    if (compactTo > this.storage.firstIndex()) this.storage.compact(compactTo);
  }
}
