import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemTimers } from '../../src/common/timers.js';
import { SnapshotManager } from '../../src/node/snapshots.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { SeededRandom } from '../../src/common/random.js';
import { DiskStorage } from '../../src/storage/log-store.js';
import { FileSnapshotStore } from '../../src/storage/snapshot-store.js';
import { MemoryStateMachine } from './memory-sm.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/**
 * Regression (found by the whole-node simulation, seed 50081 of the KvStore simulation): a leader
 * applied entries 87-88 while the Ready carrying commit 88 was still being written, and crashed.
 * After the restart its state machine was at 88, the core at the commit on disk, 86. A snapshot then
 * compacted the log through 88: the core, handing out 87.., read below the log's first index and the
 * node stopped; restarted, its commit index (86) was below the compaction point and it never started
 * again. Compaction now stops at what the core has applied.
 */
describe('a snapshot taken while the state machine is ahead of the core', () => {
  it('keeps the entries the core has not applied yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raftkv-snapcompact-'));
    dirs.push(dir);
    const log = await DiskStorage.open(join(dir, 'log'));
    const entries: Entry[] = Array.from({ length: 88 }, (_, i) => ({ index: i + 1, term: 1, type: EntryType.Normal, data: Buffer.from(`c${i + 1}`) }));
    await log.persist({ entries, hardState: { term: 1, vote: 1, commit: 86 } }, { sync: true });
    await log.setConfState({ voters: [1], learners: [] });
    const sm = new MemoryStateMachine();
    for (const e of entries) await sm.apply(e.index, e.data);
    const store = await FileSnapshotStore.open(join(dir, 'snap'));
    const silent = pino({ level: 'silent' });
    const manager = new SnapshotManager({ snapshotEntries: 1, snapshotIntervalMs: 60_000, trailingLogs: 0 }, sm, log, store, systemTimers, silent);
    const raw = new RawNode({ id: 1, random: new SeededRandom(1), electionTicks: 10, heartbeatTicks: 1, applied: sm.appliedIndex() }, log);
    manager.coreApplied = () => raw.basicStatus().applied;
    expect(raw.basicStatus().applied).toBe(86);

    expect(await manager.take()).toBe(88);
    expect(log.snapshot().meta.index).toBe(88);
    expect(log.firstIndex()).toBe(87); // 87 and 88 stay for the core
    await log.close();

    // The restarted node opens: its commit on disk (86) is not below the compaction point.
    const reopened = await DiskStorage.open(join(dir, 'log'));
    const again = new RawNode({ id: 1, random: new SeededRandom(2), electionTicks: 10, heartbeatTicks: 1, applied: 88 }, reopened);
    expect(again.basicStatus().commit).toBe(86);
    await reopened.close();
  });
});
