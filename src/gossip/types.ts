/** Plain-data types of the gossip core's contract with its drivers. */

export const MemberState = { Alive: 0, Suspect: 1, Dead: 2, Left: 3 } as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

export function memberStateName(s: MemberState): 'alive' | 'suspect' | 'dead' | 'left' {
  return (['alive', 'suspect', 'dead', 'left'] as const)[s];
}

/** The per-member metadata record raftkv gossips (encoded by meta.ts, at most metaBytesMax). */
export interface MemberMeta {
  readonly nodeId: string;
  readonly raftAddr: string;
  readonly grpcAddr: string;
  /** Software version of the member, e.g. "0.1.0". */
  readonly version: string;
  /** Small role hints (e.g. voter=false); keys and values at most 255 bytes each. */
  readonly tags: Readonly<Record<string, string>>;
}

/** A snapshot of what we believe about one member. */
export interface MemberView {
  readonly name: string;
  readonly addr: string;
  readonly incarnation: number;
  readonly state: MemberState;
  /** Decoded metadata; null when the member sent none or a record we cannot read. */
  readonly meta: MemberMeta | null;
  readonly stateChangeMs: number;
}

export type MemberEventKind = 'join' | 'update' | 'suspect' | 'alive' | 'dead' | 'left';

/**
 * join: first seen, or back from dead/left. update: metadata changed. suspect: failed a probe.
 * alive: refuted a suspicion. dead: declared failed. left: departed gracefully.
 */
export interface MemberEvent {
  readonly kind: MemberEventKind;
  readonly member: MemberView;
  readonly atMs: number;
}

/** A UDP datagram for the driver to send. */
export interface OutPacket {
  readonly to: string;
  readonly bytes: Uint8Array;
}

/**
 * A push/pull exchange for the driver to run over TCP: send `bytes`, read one reply, then call
 * `handleStreamReply(id, reply)` or `streamFailed(id)`.
 */
export interface OutStream {
  readonly id: number;
  readonly to: string;
  readonly bytes: Uint8Array;
  readonly join: boolean;
}

export interface GossipReady {
  readonly packets: OutPacket[];
  readonly streams: OutStream[];
  readonly events: MemberEvent[];
}

/** Counters for observability; monotonically increasing. */
export interface GossipStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  malformedPackets: number;
  oversizedPackets: number;
  malformedStreams: number;
  droppedOutPackets: number;
  droppedEvents: number;
  droppedBroadcasts: number;
  droppedRelays: number;
  probes: number;
  probeFailures: number;
  suspicionsRaised: number;
  refutes: number;
  localStalls: number;
  pushPulls: number;
  /** Pings sent to members we hold dead, and how many of them answered (partition healing). */
  reconnectPings: number;
  reconnects: number;
}
