/**
 * SWIM + Lifeguard gossip membership core (pure, deterministic), after hashicorp/memberlist.
 *
 * Usage by a driver (see src/node/gossip-agent.ts for the real one, test/gossip/sim for a simulated one):
 *
 *   const core = new GossipCore({ name, advertiseAddr: 'host:port', ...overrides }, random, meta, nowMs);
 *   core.join(['seed:7946']);               // -> push/pull stream ids
 *   core.handlePacket(fromAddr, bytes, now); // every UDP datagram
 *   core.tick(now);                          // at least by core.nextDeadlineMs()
 *   const { packets, streams, events } = core.ready();
 *     // packets: send each as one UDP datagram (<= config.packetBytesMax)
 *     // streams: push/pull over TCP; on reply core.handleStreamReply(id, bytes), else core.streamFailed(id)
 *     // events: join | update | suspect | alive | dead | left, with a MemberView
 *   server side of push/pull: reply = core.handleStream(fromAddr, bytes, now) (null: drop the connection)
 *   core.updateMeta(meta); core.leave(); core.isLeaveComplete(); core.noteLocalDelay(eventLoopDelayMs)
 *   core.members(), core.healthScore, core.stats (dropped/malformed counters)
 *
 * Time arrives only as numbers (ms); randomness only through the injected Random. Nothing received
 * from the network can make these methods throw.
 */
export { GossipCore } from './core.js';
export { LAN_DEFAULTS, makeGossipConfig } from './config.js';
export type { GossipConfig, GossipConfigInput } from './config.js';
export { MemberState, memberStateName } from './types.js';
export type {
  GossipReady, GossipStats, MemberEvent, MemberEventKind, MemberMeta, MemberView, OutPacket, OutStream,
} from './types.js';
export { decodeMeta, encodeMeta } from './meta.js';
export {
  pushPullScaleMs, reconnectChance, remainingSuspicionMs, retransmitLimit, suspicionConfirmationsWanted, suspicionMinTimeoutMs,
} from './formulas.js';
export { Awareness } from './awareness.js';
export { BroadcastQueue } from './queue.js';
export { decodePacket, decodePushPull, encodeMessage, encodePacket, encodePushPull, WIRE_VERSION } from './codec.js';
export type { Message, PushPullPayload, PushPullState } from './codec.js';
export { WireError } from './bytes.js';
