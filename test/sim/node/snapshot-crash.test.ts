import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/common/random.js';
import type { NodeId } from '../../../src/raft/types.js';
import { KEY_SNAPSHOT_META } from '../../../src/storage/log-codec.js';
import { MemoryNetwork } from '../../../src/transport/raft/memory-network.js';
import { SimHost, type HostEnv } from './host.js';
import { encodeKvCommand } from './kv-machine.js';
import { NodeChecker } from './node-checker.js';
import { VirtualScheduler } from './scheduler.js';

/**
 * Regression (found by the whole-node simulation): a follower that installed a snapshot and died
 * right after the snapshot's meta reached its disk restarted with a commit index below the snapshot,
 * which the core refuses. The driver now writes the meta and the hard state in one synced write.
 */
describe('a follower that crashes right after installing a snapshot', () => {
  it('restarts and catches up', async () => {
    const sched = new VirtualScheduler();
    const network = new MemoryNetwork(new SeededRandom(1), sched);
    const checker = new NodeChecker();
    const env: HostEnv = {
      sched,
      network,
      diskFaults: { writeLatencyMsMax: 2, ignoreSync: false, resealFlips: false, writeErrorRate: 0 },
      observer: checker,
      onLeader: () => undefined,
      onFatal: (h, err) => checker.fail(`n${h.id} fatal: ${err.message}`),
    };
    const boot = new Map<NodeId, string>([1, 2, 3].map((id) => [id, `sim:${id}`]));
    const rng = new SeededRandom(7);
    const hosts = [1, 2, 3].map((id) => new SimHost(id, env, rng.fork(), 8, boot));
    const [, , lagger] = hosts as [SimHost, SimHost, SimHost];
    network.partition([[3], [1, 2]]);
    for (const h of hosts) void h.start(false);
    const leader = (): SimHost | undefined => hosts.find((h) => h.serving && h.driver!.isLeader());
    await sched.runUntil(5_000, () => leader() !== undefined);
    let written = 0;
    void (async () => {
      for (let i = 0; i < 60; i++) {
        await leader()!.driver!.propose(encodeKvCommand({ op: 'put', key: 'k', value: `v${i}` }), undefined);
        written++;
      }
    })();
    await sched.runUntil(sched.nowMs + 20_000, () => written === 60 && leader()!.log!.firstIndex() > 10);
    expect(leader()!.log!.firstIndex()).toBeGreaterThan(10); // the lagging node needs a snapshot

    let crashedAtSnapshot = false;
    lagger.logDisk.onWriteDone = (ops) => {
      if (crashedAtSnapshot || !ops.some((op) => op.type === 'put' && op.key.equals(KEY_SNAPSHOT_META))) return;
      crashedAtSnapshot = true;
      sched.schedule(0, () => lagger.crash(true));
    };
    network.heal();
    await sched.runUntil(sched.nowMs + 10_000, () => lagger.state === 'down');
    expect(crashedAtSnapshot).toBe(true);

    let restartError: unknown = null;
    lagger.start(false).catch((e: unknown) => (restartError = e));
    const target = leader()!.kv!.appliedIndex();
    await sched.runUntil(sched.nowMs + 10_000, () => restartError !== null || (lagger.kv?.appliedIndex() ?? 0) >= target);
    expect(restartError).toBeNull();
    expect(lagger.kv!.appliedIndex()).toBeGreaterThanOrEqual(target);
    expect(await lagger.kv!.get('k')).toBe('v59');
    expect(checker.violations).toEqual([]);
  }, 60_000);
});
