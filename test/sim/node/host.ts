import { pino } from 'pino';
import type { SeededRandom } from '../../../src/common/random.js';
import { RaftDriver, type DriverEvents, type LeaderInfo } from '../../../src/node/driver.js';
import { AutoCompactor } from '../../../src/node/auto-compactor.js';
import { Lessor } from '../../../src/node/lessor.js';
import { encodeCommand } from '../../../src/kv/index.js';
import type { NodePorts } from '../../../src/node/ports.js';
import type { BrokenRules } from '../../../src/raft/config.js';
import type { NodeId } from '../../../src/raft/types.js';
import { DiskStorage } from '../../../src/storage/log-store.js';
import { snapshotId } from '../../../src/storage/snapshot-meta.js';
import type { MemoryNetwork } from '../../../src/transport/raft/memory-network.js';
import { MemoryTransport } from '../../../src/transport/raft/memory-transport.js';
import { KvStore } from '../../../src/kv/index.js';
import { SimLogDisk, SimPeerBook, SimSnapshotDisk, type DiskFaults } from './disk.js';
import { SimKvDisk } from './kv-disk.js';
import { syncGzip } from './sync-gzip.js';
import { encodeKvCommand, SimKvMachine, type KvObserver } from './kv-machine.js';
import { Incarnation, type VirtualScheduler } from './scheduler.js';

const silent = pino({ level: 'silent' });

export const TICK_MS = 10;
export const ELECTION_TICKS = 10;
/** A node's clock runs at 1 ± up to this rate of true (virtual) time. */
export const DRIFT_MAX = 0.05;
/** How often a leader's lessor looks for expired leases (production: 500 ms; shorter TTLs here). */
const LEASE_CHECK_MS = 100;
/** How often the production auto-compactor looks (production default: 5 min in revision mode). */
const COMPACTION_CHECK_MS = 250;

export interface HostEnv {
  readonly sched: VirtualScheduler;
  readonly network: MemoryNetwork;
  readonly diskFaults: DiskFaults;
  readonly observer: KvObserver;
  readonly onLeader: (host: SimHost, leader: LeaderInfo | null) => void;
  readonly onFatal: (host: SimHost, err: Error) => void;
  /**
   * Broken mode: the lessor never sees a leader change, so a new leader keeps the deadlines it set
   * when the leases were granted instead of refreshing them (its predecessor's keep-alives are not
   * replicated): leases kept alive across a leader change expire early.
   */
  readonly leaseNoPromote?: boolean | undefined;
  /** The auto-compactor keeps this many revisions (revision mode); absent: no auto-compaction. */
  readonly compactRetention?: number | undefined;
  readonly broken?: BrokenRules | undefined;
  readonly divergeNode?: NodeId | undefined;
}

/**
 * One simulated server: disks that survive crashes (raft log, snapshots, address book, KV) and, while
 * up, one incarnation running the production RaftDriver on ports over those disks, the memory
 * network and the node's drifting clock.
 */
export class SimHost {
  readonly logDisk: SimLogDisk;
  readonly snapDisk = new SimSnapshotDisk();
  readonly peerBook = new SimPeerBook();
  readonly kvDisk: SimKvDisk;
  state: 'down' | 'starting' | 'up' | 'retired' = 'down';
  inc: Incarnation | null = null;
  driver: RaftDriver | null = null;
  kv: SimKvMachine | null = null;
  log: DiskStorage | null = null;
  /** The production lease timer on this node's drifting clock (decides only while leader). */
  lessor: Lessor | null = null;
  /** The production auto-compactor on this node's clock (proposes only while leader). */
  compactor: AutoCompactor | null = null;
  private readonly leaderListeners = new Set<() => void>();
  downUntilMs = 0;
  /** Whether the last open read flipped bits (then it must have failed with a CorruptionError). */
  lastOpenFlipped = false;
  private readonly rate: number;
  /** The live incarnation's transport, from its creation (a crash mid-start must close it too). */
  private transport: MemoryTransport | null = null;

  constructor(
    readonly id: NodeId,
    private readonly env: HostEnv,
    private readonly rng: SeededRandom,
    private readonly snapshotEntries: number,
    private readonly bootstrap: ReadonlyMap<NodeId, string> | undefined,
  ) {
    this.logDisk = new SimLogDisk(`sim-disk-n${id}`, env.diskFaults, rng.fork());
    this.kvDisk = new SimKvDisk(`sim-kv-n${id}`, rng.fork());
    // Clock drift: up to ±DRIFT_MAX fast or slow, so timers and leases run under skew.
    this.rate = 1 - DRIFT_MAX + rng.float() * 2 * DRIFT_MAX;
  }

  get serving(): boolean {
    return this.state === 'up' && this.driver !== null;
  }

  /** Start an incarnation; a failed open (a corrupt read) leaves the node down and rethrows. */
  async start(flipOnRead: boolean): Promise<void> {
    this.state = 'starting';
    const inc = new Incarnation(this.env.sched, this.rate, this.rng.int(1_000_000));
    this.inc = inc;
    try {
      const db = this.logDisk.open(inc, flipOnRead);
      this.lastOpenFlipped = false;
      const log = await DiskStorage.openOn(db, this.logDisk.name).finally(() => (this.lastOpenFlipped = db.flipped));
      this.snapDisk.pinned = () => {
        const m = log.snapshot().meta;
        return m.index === 0 ? null : snapshotId(m.index, m.term);
      };
      const store = await KvStore.open({ disk: this.kvDisk.port(inc), compression: syncGzip });
      const kv = new SimKvMachine(store, this.id, this.env.observer, this.env.divergeNode === this.id);
      const driver = new RaftDriver(this.driverOptions(), this.ports(inc, log, kv), this.events());
      await driver.start();
      if (!inc.alive) return;
      [this.log, this.kv, this.driver] = [log, kv, driver];
      this.lessor = this.startLessor(inc, kv, driver);
      this.compactor = this.startCompactor(inc, kv, driver);
      this.state = 'up';
    } catch (e) {
      if (inc.alive) this.kill('down');
      throw e;
    }
  }

  private driverOptions(): ConstructorParameters<typeof RaftDriver>[0] {
    return {
      id: this.id,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      pendingProposalsMax: 64,
      pendingReadsMax: 64,
      snapshotEntries: this.snapshotEntries,
      snapshotIntervalMs: 2_000,
      trailingLogs: this.rng.int(8),
      bootstrap: this.bootstrap,
      logger: silent,
      broken: this.env.broken,
    };
  }

  private ports(inc: Incarnation, log: DiskStorage, kv: SimKvMachine): NodePorts {
    return {
      log,
      snapshots: this.snapDisk.store(inc),
      peers: this.peerBook.book(inc),
      stateMachine: kv,
      createTransport: (handlers) => {
        this.transport = new MemoryTransport(this.env.network, { ...handlers, localId: this.id, clusterId: 'sim' });
        return this.transport;
      },
      raftAddress: () => `sim:${this.id}`,
      clock: inc,
      timers: inc,
      random: this.rng.fork(),
    };
  }

  private startLessor(inc: Incarnation, kv: SimKvMachine, driver: RaftDriver): Lessor {
    const broken = this.env.leaseNoPromote === true;
    const lessor = new Lessor(
      {
        clock: inc,
        timers: inc,
        leases: () => kv.store.leases(),
        onLeaseChange: (l) => kv.store.onLeaseChange(l),
        isLeader: () => broken || driver.isLeader(),
        onLeaderChange: (l) => {
          this.leaderListeners.add(l);
          return () => this.leaderListeners.delete(l);
        },
        proposeRevoke: async (id, signal) => {
          await driver.propose(encodeKvCommand({ op: 'revoke', id }), signal);
        },
        logger: silent,
      },
      { tickMs: TICK_MS, electionTicks: ELECTION_TICKS, checkIntervalMs: LEASE_CHECK_MS },
    );
    lessor.start();
    return lessor;
  }

  private startCompactor(inc: Incarnation, kv: SimKvMachine, driver: RaftDriver): AutoCompactor | null {
    if (this.env.compactRetention === undefined) return null;
    const compactor = new AutoCompactor(
      {
        clock: inc,
        timers: inc,
        isLeader: () => driver.isLeader(),
        revisions: () => kv.store.stats(),
        proposeCompact: async (revision, signal) => {
          await driver.propose(encodeCommand({ op: { kind: 'compact', compact: { revision } }, requestId: null }), signal);
        },
        logger: silent,
      },
      { mode: 'revision', retention: this.env.compactRetention, checkIntervalMs: COMPACTION_CHECK_MS },
    );
    compactor.start();
    return compactor;
  }

  private events(): DriverEvents {
    return {
      onLeaderChange: (l) => {
        for (const listener of this.leaderListeners) listener();
        this.env.onLeader(this, l);
      },
      onFatal: (err) => this.env.onFatal(this, err),
    };
  }

  /** The process dies: timers stop, the network forgets it, unsynced disk writes may be lost. */
  crash(loseAllUnsynced = false): void {
    this.kill('down', loseAllUnsynced);
  }

  retire(): void {
    this.kill('retired');
  }

  private kill(next: 'down' | 'retired', loseAllUnsynced = false): void {
    if (this.inc) this.inc.alive = false;
    void this.transport?.close();
    this.transport = null;
    this.inc = null;
    this.driver = null;
    this.kv = null;
    this.log = null;
    this.lessor?.stop();
    this.lessor = null;
    this.compactor?.stop();
    this.compactor = null;
    this.leaderListeners.clear();
    this.state = next;
    this.logDisk.crash(loseAllUnsynced);
    this.kvDisk.crash();
  }
}
