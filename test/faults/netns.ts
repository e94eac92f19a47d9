/**
 * The real fault network: every node in its own network namespace, all on one bridge, and network
 * faults as nftables drop rules on that bridge. Packets are lost in the network, not at the sender:
 * the sender's kernel gets no local error, so TCP stalls, retransmits with exponential backoff, and
 * connection attempts hang rather than fail fast, as across a real switch.
 *
 *   root ns  rkv<S>h 10.201.S.254 ──veth── up0 ┐
 *   rkv<S>-n1  eth0 10.201.S.1    ──veth── n1  ├ br0 in namespace rkv<S>-hub
 *   rkv<S>-n2  eth0 10.201.S.2    ──veth── n2  ┘ ...
 *
 * The harness (clients, admin calls) lives in the root namespace at .254 and is never cut: like
 * Jepsen's control node, it sees every node. Node-to-node traffic (raft and gRPC forwarding) is what
 * the faults hit: the hub has a `bridge` family table whose forward chain holds the rules (a cut:
 * `ip saddr A ip daddr B drop`; loss: `numgen random` for node-to-node packets). The kernel here has
 * no sch_netem, so there is no delay in this mode. A blackhole route for 10.201.0.0/16 in the root namespace keeps test
 * traffic from ever leaving the machine.
 *
 * Each harness process takes a free slot S (its /24) by creating the hub namespace, which is atomic;
 * a slot whose owner process is gone is reclaimed. Everything is removed on close and, synchronously,
 * when the process exits.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Degradation, FaultNetwork, NodeAddresses } from './network.js';

const SUBNET = '10.201';
const GUARD_ROUTE = `${SUBNET}.0.0/16`;
const SLOT_MAX = 250;
const HARNESS_HOST = 254;
const RAFT_PORT = 7000;
const GRPC_PORT = 7001;
const GOSSIP_PORT = 7002;
const COMMAND_TIMEOUT_MS = 10_000;
/** Loss is drawn per packet as `numgen random mod LOSS_SCALE < rate * LOSS_SCALE`. */
const LOSS_SCALE = 1000;
const TABLE = 'raftkv_faults';
const OWNERS_DIR = join(tmpdir(), 'raftkv-netns-owners');
/** A hub without an owner file this young may be another process's claim in progress. */
const OWNER_FILE_GRACE_MS = 10_000;

/** Networks this process created, removed synchronously if it exits without closing them. */
const live = new Set<NetnsNetwork>();
process.once('exit', () => {
  for (const n of live) n.destroyNow();
});

function run(file: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

function quietSync(file: string, args: readonly string[]): void {
  try {
    execFileSync(file, args, { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
  } catch {
    // already gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why netns mode cannot run here, or null when it can (root, `ip` and `nft` on the PATH). */
export async function netnsUnavailableReason(): Promise<string | null> {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  try {
    await run('ip', ['-V']);
  } catch {
    return '`ip` (iproute2) not found';
  }
  try {
    await run('nft', ['--version']);
  } catch {
    return '`nft` (nftables) not found';
  }
  // Root is not always enough (a container without CAP_SYS_ADMIN / CAP_NET_ADMIN): try it.
  const probe = `rkv-probe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'exec', probe, 'nft', 'add', 'table', 'bridge', TABLE]);
    return null;
  } catch (e) {
    return `cannot make a namespace with an nftables table: ${(e as Error).message}`;
  } finally {
    quietSync('ip', ['netns', 'del', probe]);
  }
}

export class NetnsNetwork implements FaultNetwork {
  readonly mode = 'netns' as const;
  private readonly counters = { cuts: 0, degradations: 0, droppedPackets: 0 };
  private readonly ids: readonly number[];

  private constructor(
    readonly slot: number,
    ids: readonly number[],
  ) {
    this.ids = [...ids];
  }

  /** Takes a free slot and builds the namespaces, bridge, addresses and empty nftables chains. */
  static async create(ids: readonly number[], preferredSlot?: number): Promise<NetnsNetwork> {
    if (ids.some((id) => !Number.isInteger(id) || id < 1 || id >= HARNESS_HOST)) throw new Error(`node ids must be 1..${HARNESS_HOST - 1}`);
    const slot = await claimSlot(preferredSlot ?? 1 + (process.pid % SLOT_MAX));
    const net = new NetnsNetwork(slot, ids);
    live.add(net);
    try {
      await net.build();
      return net;
    } catch (e) {
      await net.close();
      throw e;
    }
  }

  private get hub(): string {
    return `rkv${this.slot}-hub`;
  }

  private nodeNs(id: number): string {
    return `rkv${this.slot}-n${id}`;
  }

  private get rootVeth(): string {
    return `rkv${this.slot}h`;
  }

  /** The node's address (the harness is at HARNESS_HOST). */
  host(id: number): string {
    return `${SUBNET}.${this.slot}.${id}`;
  }

  private async build(): Promise<void> {
    const hub = this.hub;
    await run('ip', ['-n', hub, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
    const rules = `table bridge ${TABLE} {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n`;
    await run('ip', ['netns', 'exec', hub, 'nft', '-f', '-'], rules);
    for (const id of this.ids) await this.buildNode(id);
    await run('ip', ['link', 'add', this.rootVeth, 'type', 'veth', 'peer', 'name', 'up0', 'netns', hub]);
    await run('ip', ['-n', hub, 'link', 'set', 'up0', 'master', 'br0', 'up']);
    await run('ip', ['addr', 'add', `${this.host(HARNESS_HOST)}/24`, 'dev', this.rootVeth]);
    await run('ip', ['link', 'set', this.rootVeth, 'up']);
    await run('ip', ['route', 'replace', 'blackhole', GUARD_ROUTE]);
  }

  private async buildNode(id: number): Promise<void> {
    const ns = this.nodeNs(id);
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', this.hub, 'link', 'add', `n${id}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await run('ip', ['-n', this.hub, 'link', 'set', `n${id}`, 'master', 'br0', 'up']);
    await run('ip', ['-n', ns, 'addr', 'add', `${this.host(id)}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  }

  addresses(id: number): NodeAddresses {
    const raft = `${this.host(id)}:${RAFT_PORT}`;
    return { raftListen: raft, raftAdvertise: raft, grpc: `${this.host(id)}:${GRPC_PORT}`, gossip: `${this.host(id)}:${GOSSIP_PORT}` };
  }

  peerGrpc(_from: number, to: number): string {
    return this.addresses(to).grpc;
  }

  command(id: number, file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file: 'ip', args: ['netns', 'exec', this.nodeNs(id), file, ...args] };
  }

  /** Runs nft in the hub namespace, on the bridge every node-to-node packet crosses. */
  private nft(args: readonly string[]): Promise<string> {
    return run('ip', ['netns', 'exec', this.hub, 'nft', ...args]);
  }

  async cut(from: number, to: number): Promise<void> {
    await this.nft(['add', 'rule', 'bridge', TABLE, 'forward', 'ip', 'saddr', this.host(from), 'ip', 'daddr', this.host(to), 'counter', 'drop']);
    this.counters.cuts++;
  }

  async degrade(d: Degradation): Promise<string> {
    const threshold = Math.round(d.lossRate * LOSS_SCALE);
    const harness = this.host(HARNESS_HOST);
    // numgen's comparison only takes values below the modulus: total loss is a plain drop.
    const draw = threshold >= LOSS_SCALE ? [] : ['numgen', 'random', 'mod', String(LOSS_SCALE), '<', String(threshold)];
    if (threshold > 0) await this.nft(['add', 'rule', 'bridge', TABLE, 'forward', 'ip', 'saddr', '!=', harness, 'ip', 'daddr', '!=', harness, ...draw, 'counter', 'drop']);
    this.counters.degradations++;
    return `${(threshold / 10).toFixed(1)}% of node-to-node packets dropped on the bridge (no delay without netem)`;
  }

  async heal(): Promise<void> {
    const listing = await this.nft(['list', 'chain', 'bridge', TABLE, 'forward']);
    for (const m of listing.matchAll(/counter packets (\d+)/g)) this.counters.droppedPackets += Number(m[1]);
    await this.nft(['flush', 'chain', 'bridge', TABLE, 'forward']);
  }

  stats(): Record<string, number> {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.destroyNow();
  }

  /** Synchronous teardown (also used from the process 'exit' hook). */
  destroyNow(): void {
    if (!live.has(this)) return;
    live.delete(this);
    destroySlot(this.slot, this.ids);
  }
}

function hubAgeMs(slot: number): number {
  try {
    return Date.now() - statSync(`/run/netns/rkv${slot}-hub`).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function ownerFile(slot: number): string {
  return join(OWNERS_DIR, `${slot}.pid`);
}

function destroySlot(slot: number, ids: readonly number[] = []): void {
  quietSync('ip', ['link', 'del', `rkv${slot}h`]);
  for (const id of ids) quietSync('ip', ['netns', 'del', `rkv${slot}-n${id}`]);
  if (ids.length === 0) {
    // Reclaiming a dead owner's slot: its node namespaces are named rkv<slot>-n<id>.
    const all = existsSync('/run/netns') ? execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }) : '';
    for (const line of all.split('\n')) {
      const name = line.split(' ')[0] ?? '';
      if (name.startsWith(`rkv${slot}-n`)) quietSync('ip', ['netns', 'del', name]);
    }
  }
  quietSync('ip', ['netns', 'del', `rkv${slot}-hub`]);
  rmSync(ownerFile(slot), { force: true });
}

/** Creates rkv<S>-hub for the first free S; the `ip netns add` is the lock. */
async function claimSlot(start: number): Promise<number> {
  mkdirSync(OWNERS_DIR, { recursive: true });
  for (let i = 0; i < SLOT_MAX; i++) {
    const slot = 1 + ((start - 1 + i) % SLOT_MAX);
    try {
      await run('ip', ['netns', 'add', `rkv${slot}-hub`]);
    } catch {
      if (!reclaimIfOrphaned(slot)) continue;
      try {
        await run('ip', ['netns', 'add', `rkv${slot}-hub`]);
      } catch {
        continue;
      }
    }
    writeFileSync(ownerFile(slot), `${process.pid}\n`);
    return slot;
  }
  throw new Error(`no free network slot among ${SLOT_MAX}`);
}

/** A slot whose owner process is gone (or unrecorded) is cleaned up so it can be taken again. */
function reclaimIfOrphaned(slot: number): boolean {
  let owner = 0;
  try {
    owner = Number(readFileSync(ownerFile(slot), 'utf8').trim());
  } catch {
    // No owner file: either its owner crashed between `netns add` and writing the file, or another
    // process is between the two right now. Only a hub older than that window is taken as orphaned.
    if (hubAgeMs(slot) < OWNER_FILE_GRACE_MS) return false;
  }
  if (owner > 0 && processAlive(owner)) return false;
  destroySlot(slot);
  return true;
}
