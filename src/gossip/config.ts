import { InvalidArgumentError, Limits } from '../common/index.js';

/**
 * Tunables of the gossip core. Defaults are hashicorp/memberlist's LAN profile (DefaultLANConfig);
 * fields beyond memberlist (rejoin, stall detection, limits) say so in their comment.
 */
export interface GossipConfig {
  /** Unique member name; the identity gossip messages are about. */
  readonly name: string;
  /** Address peers reach us at ("host:port"): the UDP and TCP push/pull endpoint. */
  readonly advertiseAddr: string;
  /** Time between probes of one member (scaled by the local health score). */
  readonly probeIntervalMs: number;
  /** How long to wait for a direct ack before asking others to ping-req (scaled as well). */
  readonly probeTimeoutMs: number;
  /** Members asked to probe indirectly after a missed ack (SWIM k). */
  readonly indirectChecks: number;
  /** Suspicion min timeout = suspicionMult * max(1, log10(n)) * probeInterval. */
  readonly suspicionMult: number;
  /** Suspicion max timeout = suspicionMaxTimeoutMult * min timeout. */
  readonly suspicionMaxTimeoutMult: number;
  /** Each broadcast is sent retransmitMult * ceil(log10(n + 1)) times. */
  readonly retransmitMult: number;
  readonly gossipIntervalMs: number;
  readonly gossipNodes: number;
  /** Dead and left members still receive gossip for this long, so they learn how they are seen. */
  readonly gossipToTheDeadMs: number;
  /** Anti-entropy period (scaled up beyond 32 members); 0 disables periodic push/pull. */
  readonly pushPullIntervalMs: number;
  /** Local health score ranges over [0, awarenessMaxMultiplier - 1]; timeouts scale by score + 1. */
  readonly awarenessMaxMultiplier: number;
  /** Largest UDP payload the core produces (before encryption overhead, which the driver subtracts). */
  readonly packetBytesMax: number;
  /** Largest encoded metadata record. */
  readonly metaBytesMax: number;
  /** Not in memberlist: push/pull with seeds we do not see alive this often (rejoin after a restart or a split); 0 = off. */
  readonly rejoinIntervalMs: number;
  /**
   * Not in memberlist (Serf's reconnect, at probe pace): this often, ping a random dead (never left)
   * member with a chance of dead/live, and push/pull with it if it answers; 0 = off. This is what
   * heals a partition: both sides learn of each other within a few intervals.
   */
  readonly reconnectIntervalMs: number;
  /** Dead members are reconnect-pinged for this long after they were declared dead (Serf ReconnectTimeout). */
  readonly reconnectTimeoutMs: number;
  /** Dead/left members are forgotten this long after their last state change. */
  readonly deadMemberRetainMs: number;
  /** A dead member's name may be claimed by a new address after this long; null = never (memberlist default). */
  readonly deadNodeReclaimMs: number | null;
  /**
   * Not in memberlist: a gap between two calls into the core longer than this means our own process
   * stalled; timeouts that ran out during the stall are extended and the health score goes up.
   */
  readonly localStallThresholdMs: number;
  /** Bounded queues (named, finite): pending broadcasts, outgoing packets/streams/events per ready(). */
  readonly broadcastQueueMax: number;
  readonly outboxPacketsMax: number;
  readonly outboxEventsMax: number;
  /** Concurrent ping-req relays we serve for others. */
  readonly relaysMax: number;
  /** Members we track at most (push/pull payloads beyond this are rejected). */
  readonly membersMax: number;
  /** Largest push/pull payload accepted. */
  readonly streamBytesMax: number;
}

export type GossipConfigInput = Partial<GossipConfig> & Pick<GossipConfig, 'name' | 'advertiseAddr'>;

export const LAN_DEFAULTS: Omit<GossipConfig, 'name' | 'advertiseAddr'> = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  awarenessMaxMultiplier: 8,
  packetBytesMax: Limits.gossipPacketBytesMax,
  metaBytesMax: Limits.gossipMetaBytesMax,
  rejoinIntervalMs: 30_000,
  reconnectIntervalMs: 1000,
  reconnectTimeoutMs: 60 * 60_000,
  deadMemberRetainMs: 60 * 60_000,
  deadNodeReclaimMs: null,
  localStallThresholdMs: 250,
  broadcastQueueMax: 4096,
  outboxPacketsMax: 4096,
  outboxEventsMax: 8192,
  relaysMax: 1024,
  membersMax: 10_000,
  streamBytesMax: 8 * 1024 * 1024,
};

const NAME_BYTES_MAX = 255;

export function makeGossipConfig(input: GossipConfigInput): GossipConfig {
  const c: GossipConfig = { ...LAN_DEFAULTS, ...input };
  const positive: (keyof GossipConfig)[] = [
    'probeIntervalMs', 'probeTimeoutMs', 'suspicionMult', 'suspicionMaxTimeoutMult', 'retransmitMult',
    'gossipIntervalMs', 'awarenessMaxMultiplier', 'broadcastQueueMax', 'outboxPacketsMax',
    'outboxEventsMax', 'relaysMax', 'membersMax', 'streamBytesMax', 'localStallThresholdMs', 'reconnectTimeoutMs',
  ];
  for (const key of positive) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new InvalidArgumentError(`gossip config ${key} must be a positive number, got ${String(v)}`);
    }
  }
  for (const key of ['rejoinIntervalMs', 'reconnectIntervalMs', 'pushPullIntervalMs'] as const) {
    if (!Number.isFinite(c[key]) || c[key] < 0) {
      throw new InvalidArgumentError(`gossip config ${key} must be 0 (off) or a positive number, got ${String(c[key])}`);
    }
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs) {
    throw new InvalidArgumentError('gossip config probeTimeoutMs must be below probeIntervalMs');
  }
  if (c.packetBytesMax < 256 || c.packetBytesMax > 65_000) {
    throw new InvalidArgumentError('gossip config packetBytesMax must be within [256, 65000]');
  }
  if (c.name.length === 0 || new TextEncoder().encode(c.name).length > NAME_BYTES_MAX) {
    throw new InvalidArgumentError(`gossip member name must be 1..${NAME_BYTES_MAX} bytes`);
  }
  if (!/^[^:\s]+:\d{1,5}$/.test(c.advertiseAddr) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(c.advertiseAddr)) {
    throw new InvalidArgumentError(`gossip advertiseAddr must be host:port, got ${c.advertiseAddr}`);
  }
  return c;
}
