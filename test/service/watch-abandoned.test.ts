import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consistency, type WatchResponse } from '../../src/gen/raftkv/v1/kv.js';
import { TestCluster } from './cluster.js';
import { get, put } from './kv.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('a lagging follower that installs a snapshot', () => {
  let c: TestCluster;

  beforeAll(async () => {
    // Small snapshots and almost no trailing log: a paused follower can only catch up by snapshot.
    c = await TestCluster.start(3, ['--snapshot_entries=20', '--trailing_logs=2']);
  }, 40_000);

  afterAll(async () => {
    for (const n of c?.nodes.values() ?? []) n.proc?.kill('SIGCONT');
    await c?.stop();
  });

  it('ends its open watches with `abandoned`, then serves the new state', async () => {
    const leader = await c.leaderId();
    const follower = c.node([...c.nodes.keys()].find((id) => id !== leader)!);
    const responses: WatchResponse[] = [];
    const stream = follower.kv.watch({ key: Buffer.alloc(0), prefix: b('snap/'), startRevision: 0, prevKv: false });
    stream.on('data', (r: WatchResponse) => responses.push(r));
    stream.on('error', () => undefined);
    await put(follower.kv, 'snap/probe', 'probe');
    await c.waitFor(() => responses.some((r) => r.events.length > 0), 5000, 'the watch to start');

    // Appends already in the paused follower's socket are delivered in order on resume; past the
    // leader's in-flight window (256 appends) the rest is compacted away and must come as a snapshot.
    follower.proc!.kill('SIGSTOP');
    for (let i = 0; i < 400; i++) await put(c.node(leader).kv, `snap/${i}`, `v${i}`);
    follower.proc!.kill('SIGCONT');

    await c.waitFor(() => responses.some((r) => r.abandoned), 15_000, 'the watch to end with abandoned');
    stream.cancel();
    // The snapshot may end before the last writes; those follow through the log.
    await c.waitFor(async () => (await get(follower.kv, 'snap/399', Consistency.CONSISTENCY_STALE)).kv?.value.toString() === 'v399', 10_000, 'the follower to serve the latest write');
    // Nothing after `abandoned` claims to continue the old history.
    const at = responses.findIndex((r) => r.abandoned);
    expect(responses.slice(at + 1).every((r) => r.events.length === 0)).toBe(true);
  });
});
