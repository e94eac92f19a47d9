import { MemberState, memberStateName, type MemberEvent, type MemberView } from '../gossip/types.js';
import type { Registry } from './registry.js';

/**
 * What the gossip collector reads: GossipAgent (passed in by the composition root, src/node/server.ts),
 * or anything shaped like it. Its stats() needs only the counters exported below.
 */
export interface GossipSource {
  readonly healthScore: number;
  members(): MemberView[];
  stats(): GossipCounters;
  on(event: 'member', listener: (e: MemberEvent) => void): unknown;
}

const STATES: readonly MemberState[] = Object.values(MemberState);
const EVENT_KINDS: ReadonlyArray<MemberEvent['kind']> = ['join', 'update', 'suspect', 'alive', 'dead', 'left'];

/** Gossip stats field → counter name and help. Fields missing here are not exported. */
const COUNTERS = [
  ['packetsIn', 'raftkv_gossip_received_packets_total', 'Gossip UDP packets received.'],
  ['packetsOut', 'raftkv_gossip_sent_packets_total', 'Gossip UDP packets sent.'],
  ['bytesIn', 'raftkv_gossip_received_bytes_total', 'Gossip bytes received.'],
  ['bytesOut', 'raftkv_gossip_sent_bytes_total', 'Gossip bytes sent.'],
  ['probes', 'raftkv_gossip_probes_total', 'SWIM probes started.'],
  ['probeFailures', 'raftkv_gossip_probe_failures_total', 'SWIM probes that got no ack, direct or indirect.'],
  ['suspicionsRaised', 'raftkv_gossip_suspicions_total', 'Members this node started to suspect.'],
  ['refutes', 'raftkv_gossip_refutes_total', 'Suspicions of this node that it refuted.'],
  ['localStalls', 'raftkv_gossip_local_stalls_total', 'Times this node noticed it was itself slow (Lifeguard).'],
  ['pushPulls', 'raftkv_gossip_push_pulls_total', 'Full-state push/pull exchanges over TCP.'],
  ['reconnectPings', 'raftkv_gossip_reconnect_pings_total', 'Pings to members held suspect or dead (partition healing).'],
  ['reconnects', 'raftkv_gossip_reconnects_total', 'Members held dead that answered a reconnect ping (a healed partition).'],
  ['malformedPackets', 'raftkv_gossip_malformed_packets_total', 'Gossip packets that could not be decoded.'],
  ['oversizedPackets', 'raftkv_gossip_oversized_packets_total', 'Gossip packets over the size limit.'],
  ['malformedStreams', 'raftkv_gossip_malformed_streams_total', 'Push/pull streams that could not be decoded.'],
  ['droppedOutPackets', 'raftkv_gossip_dropped_out_packets_total', 'Outgoing gossip packets dropped at the queue limit.'],
  ['droppedEvents', 'raftkv_gossip_dropped_events_total', 'Member events dropped at the queue limit.'],
  ['droppedBroadcasts', 'raftkv_gossip_dropped_broadcasts_total', 'Broadcasts dropped at the queue limit.'],
  ['droppedRelays', 'raftkv_gossip_dropped_relays_total', 'Indirect probe relays dropped at the limit.'],
  ['udpUndecryptable', 'raftkv_gossip_undecryptable_packets_total', 'Gossip packets that failed decryption (wrong key?).'],
  ['streamsUndecryptable', 'raftkv_gossip_undecryptable_streams_total', 'Inbound push/pull streams that failed decryption (a joiner with the wrong key?).'],
  ['streamsRefused', 'raftkv_gossip_streams_refused_total', 'Inbound push/pull streams refused at the limit.'],
  ['streamsFailed', 'raftkv_gossip_streams_failed_total', 'Push/pull streams that failed.'],
  ['sendErrors', 'raftkv_gossip_send_errors_total', 'UDP sends that failed.'],
] as const satisfies ReadonlyArray<readonly [string, string, string]>;

/** The agent's counters this collector exports, one field per row of COUNTERS. */
export type GossipCounters = { readonly [K in (typeof COUNTERS)[number][0]]: number };

/** Gossip membership as this node sees it, its Lifeguard health, and the agent's counters. */
export function registerGossipMetrics(r: Registry, agent: GossipSource): void {
  const members = r.perScrape(() => agent.members());
  r.callbackGauge({
    name: 'raftkv_gossip_members', help: 'Gossip members this node knows, by state (itself included).', labelNames: ['state'],
    collect: (e) => {
      const counts = new Map<MemberState, number>(STATES.map((s) => [s, 0]));
      for (const m of members()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
      for (const [s, n] of counts) e(n, { state: memberStateName(s) });
    },
  });
  r.callbackGauge({
    name: 'raftkv_gossip_health_score', help: 'Lifeguard local health awareness: 0 is healthy; higher means this node is slow and stretches its timeouts.',
    collect: (e) => e(agent.healthScore),
  });
  const stats = r.perScrape(() => agent.stats());
  for (const [key, name, help] of COUNTERS) r.callbackCounter({ name, help, collect: (e) => e(stats()[key]) });
  // Event-driven, off the hot path: membership changes are rare.
  const events = r.counter({ name: 'raftkv_gossip_member_events_total', help: 'Membership events this node observed, by kind.', labelNames: ['kind'] });
  const byKind = new Map(EVENT_KINDS.map((k) => [k, events.labels({ kind: k })]));
  agent.on('member', (ev) => byKind.get(ev.kind)?.inc());
}
