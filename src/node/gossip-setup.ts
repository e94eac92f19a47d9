import { parseHostPort } from '../common/host-port.js';
import { access } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AbortedError } from '../common/errors.js';
import { PACKAGE_VERSION } from '../common/version.js';
import { MemberState, type GossipConfig, type MemberMeta } from '../gossip/index.js';
import type { NodeId } from '../raft/types.js';
import { GossipResolver, memberNodeId } from '../resolver/gossip-resolver.js';
import type { AddressResolver } from '../resolver/types.js';
import { DiskStorage } from '../storage/log-store.js';
import { nodePaths } from '../storage/node-meta.js';
import { GossipAgent } from './gossip-agent.js';
import type { AutopilotConfig } from './autopilot-decide.js';
import { GossipKeyring } from './gossip-keyring.js';
import { chooseBootstrap, IN_CLUSTER_TAG, IN_CLUSTER_VALUE, type BootstrapChoice } from './bootstrap-expect.js';
import { HTTP_ADDR_TAG } from '../ui/view.js';
import type { RaftNode } from './raft-node.js';

export interface GossipOptions {
  /** host:port for gossip (UDP and TCP push/pull on the same port). */
  readonly bindAddr: string;
  /** Gossip addresses of some members; our own address may be among them. */
  readonly seeds: readonly string[];
  /** 32-byte AES-256-GCM key; every member needs the same one. */
  readonly key?: Uint8Array;
  /**
   * Where the keyring lives across restarts (a JSON array of base64 keys, primary first). Once it
   * exists it wins over `key`: a member restarted after a rotation keeps the cluster's current keys.
   */
  readonly keyringFile?: string;
  readonly config?: Partial<Omit<GossipConfig, 'name' | 'advertiseAddr'>>;
  /** Form a new cluster once this many fresh members see each other (0: never bootstrap this way). */
  readonly bootstrapExpect?: number;
  readonly autopilot?: Partial<AutopilotConfig>;
  readonly reconcileIntervalMs?: number;
  /** Time to spread the graceful leave before giving up. */
  readonly leaveTimeoutMs?: number;
}

export const SOFTWARE_VERSION = PACKAGE_VERSION;

/**
 * Named gossip timing profiles: `lan` is memberlist's LAN defaults; `test` is for loopback tests
 * (failures detected in about a second; too eager for real networks).
 */
export const GOSSIP_PROFILES = {
  lan: {},
  test: {
    probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 30, suspicionMult: 3, pushPullIntervalMs: 2_000,
    rejoinIntervalMs: 300, gossipToTheDeadMs: 3_000, reconnectIntervalMs: 100,
  },
} as const satisfies Record<string, Partial<GossipConfig>>;
export type GossipProfile = keyof typeof GOSSIP_PROFILES;
/** How often to check whether this node has joined a cluster yet (for the in-cluster tag). */
const IN_CLUSTER_CHECK_MS = 200;

/** Starts the agent with our addresses in the metadata and begins joining the seeds. */
/** `addrs.http`: the cluster page's address, published as a tag so other members' pages can link to it and ask it. */
export async function startGossip(id: NodeId, addrs: { raft: string; grpc: string; http?: string | null }, o: GossipOptions, log: Logger, fallback: AddressResolver, signal?: AbortSignal): Promise<{ agent: GossipAgent; resolver: GossipResolver; meta: MemberMeta; keyring: GossipKeyring | null }> {
  const { host, port } = parseHostPort(o.bindAddr, { portZero: true, what: '--gossip_addr' });
  const tags = addrs.http ? { [HTTP_ADDR_TAG]: addrs.http } : {};
  const meta: MemberMeta = { nodeId: String(id), raftAddr: addrs.raft, grpcAddr: addrs.grpc, version: SOFTWARE_VERSION, tags };
  const keyring = await GossipKeyring.openIfAny(o.keyringFile ?? null, o.key ?? null);
  if (keyring !== null) log.info({ keys: keyring.fingerprints(), file: o.keyringFile }, 'gossip encryption on');
  const agent = new GossipAgent({
    name: String(id), meta, bindHost: host, port, ...(o.config ? { config: o.config } : {}),
    ...(keyring ? { keyring: keyring.keyring } : {}),
  });
  agent.on('error', (err) => log.warn({ err }, 'gossip socket error'));
  agent.on('member', (e) => log.info({ member: e.member.name, addr: e.member.addr, kind: e.kind }, 'gossip member event'));
  await agent.start(signal);
  const seeds = o.seeds.filter((s) => s !== agent.address);
  // The agent keeps re-joining absent seeds on its own, so a seed that is not up yet is fine.
  if (seeds.length > 0) {
    void agent.join(seeds, signal).then(
      (answered) => log.info({ seeds, answered }, 'gossip joined'),
      (err: unknown) => log.info({ err }, 'gossip join interrupted'),
    );
  }
  log.info({ gossipAddr: agent.address, seeds }, 'gossip started');
  return { agent, resolver: new GossipResolver(agent, fallback), meta, keyring };
}

/** True when the node's raft log has never been written (bootstrap_expect may act). */
export async function isFreshRaftDir(dataDir: string, id: NodeId): Promise<boolean> {
  const dir = nodePaths(dataDir, id).raft;
  if (!(await access(dir).then(() => true, () => false))) return true;
  const storage = await DiskStorage.open(dir);
  try {
    return storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
  } finally {
    await storage.close();
  }
}

/** Waits (re-checking on every gossip event) until chooseBootstrap says something other than wait. */
export function awaitBootstrapChoice(agent: GossipAgent, id: NodeId, expect: number, log: Logger, signal?: AbortSignal): Promise<BootstrapChoice> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const candidates = agent.members().flatMap((m) => {
        const mid = memberNodeId(m);
        if (mid === null) return [];
        return [{ id: mid, raftAddr: m.meta!.raftAddr, alive: m.state === MemberState.Alive, inCluster: m.meta!.tags[IN_CLUSTER_TAG] === IN_CLUSTER_VALUE }];
      });
      const choice = chooseBootstrap(id, expect, candidates);
      if (choice.kind === 'wait') return;
      finish();
      log.info({ choice: choice.kind, voters: choice.kind === 'bootstrap' ? [...choice.voters.keys()] : undefined }, 'bootstrap_expect decided');
      resolve(choice);
    };
    const onAbort = (): void => {
      finish();
      reject(new AbortedError('stopped while waiting for bootstrap_expect peers'));
    };
    const finish = (): void => {
      agent.off('member', check);
      signal?.removeEventListener('abort', onAbort);
    };
    agent.on('member', check);
    signal?.addEventListener('abort', onAbort, { once: true });
    log.info({ expect }, 'waiting for bootstrap_expect members in gossip');
    check();
  });
}

/** Sets the in-cluster tag once the raft log is non-empty; returns a function that stops checking. */
export function publishInCluster(agent: GossipAgent, node: RaftNode, meta: MemberMeta): () => void {
  const tagged = (): boolean => {
    if (node.stats().raft.lastIndex === 0) return false;
    agent.updateMeta({ ...meta, tags: { ...meta.tags, [IN_CLUSTER_TAG]: IN_CLUSTER_VALUE } });
    return true;
  };
  if (tagged()) return () => undefined;
  const timer = setInterval(() => {
    try {
      if (tagged()) clearInterval(timer);
    } catch {
      clearInterval(timer);
    }
  }, IN_CLUSTER_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
