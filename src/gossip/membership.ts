import type { Random } from '../common/index.js';
import type { MemberMeta, MemberState, MemberView } from './types.js';

export interface MemberRecord {
  readonly name: string;
  addr: string;
  metaBytes: Uint8Array;
  meta: MemberMeta | null;
  incarnation: number;
  state: MemberState;
  stateChangeMs: number;
}

export function viewOf(m: MemberRecord): MemberView {
  return {
    name: m.name, addr: m.addr, incarnation: m.incarnation, state: m.state, meta: m.meta,
    stateChangeMs: m.stateChangeMs,
  };
}

/** Below this many members random picks scan the whole table; above it they sample. */
const SCAN_MEMBERS_MAX = 64;

/**
 * The member table: a map by name, an array for uniform random picks, and the shuffled probe order
 * that gives SWIM its time-bounded completeness (every member is probed once per round).
 */
export class MemberTable {
  private readonly byName = new Map<string, MemberRecord>();
  private readonly list: MemberRecord[] = [];
  private probeOrder: string[] = [];
  private probeIndex = 0;

  constructor(private readonly random: Random, private readonly selfName: string) {}

  get size(): number {
    return this.list.length;
  }

  get(name: string): MemberRecord | undefined {
    return this.byName.get(name);
  }

  all(): readonly MemberRecord[] {
    return this.list;
  }

  add(m: MemberRecord): void {
    this.byName.set(m.name, m);
    this.list.push(m);
    if (m.name === this.selfName) return;
    // Insert at a random position so a newcomer is probed within the current round.
    const at = this.probeIndex + this.random.int(this.probeOrder.length - this.probeIndex + 1);
    this.probeOrder.splice(at, 0, m.name);
  }

  /** Next member to probe, or undefined when there is none; `eligible` filters dead/left ones. */
  nextProbeTarget(eligible: (m: MemberRecord) => boolean, onRoundEnd: () => void): MemberRecord | undefined {
    for (let tries = 0; tries <= this.probeOrder.length; tries++) {
      if (this.probeIndex >= this.probeOrder.length) {
        onRoundEnd();
        this.reshuffle();
        if (this.probeOrder.length === 0) return undefined;
      }
      const name = this.probeOrder[this.probeIndex++];
      const m = name === undefined ? undefined : this.byName.get(name);
      if (m !== undefined && eligible(m)) return m;
    }
    return undefined;
  }

  /** Moves `name` to the front of the remaining probe order (a copy if it was already probed this round). */
  probeSoon(name: string): void {
    const i = this.probeOrder.indexOf(name, this.probeIndex);
    if (i >= 0) this.probeOrder.splice(i, 1);
    this.probeOrder.splice(this.probeIndex, 0, name);
  }

  /** Forgets members for which `expired` holds (never ourselves). */
  reap(expired: (m: MemberRecord) => boolean): number {
    let removed = 0;
    for (let i = this.list.length - 1; i >= 0; i--) {
      const m = this.list[i];
      if (m === undefined || m.name === this.selfName || !expired(m)) continue;
      this.byName.delete(m.name);
      this.list.splice(i, 1);
      removed++;
    }
    return removed;
  }

  /** Up to k distinct members satisfying `ok`, uniformly at random. */
  pickRandom(k: number, ok: (m: MemberRecord) => boolean): MemberRecord[] {
    if (k <= 0) return [];
    if (this.list.length <= SCAN_MEMBERS_MAX) {
      const candidates = this.list.filter(ok);
      shuffle(candidates, this.random);
      return candidates.slice(0, k);
    }
    const picked = new Set<MemberRecord>();
    for (let attempt = 0; attempt < 8 * k && picked.size < k; attempt++) {
      const m = this.list[this.random.int(this.list.length)];
      if (m !== undefined && ok(m)) picked.add(m);
    }
    return [...picked];
  }

  private reshuffle(): void {
    this.probeOrder = this.list.filter((m) => m.name !== this.selfName).map((m) => m.name);
    shuffle(this.probeOrder, this.random);
    this.probeIndex = 0;
  }
}

export function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
}
