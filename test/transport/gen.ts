import type { SeededRandom } from '../../src/common/random.js';
import { makeMessage, MessageType, type Entry, type Message } from '../../src/raft/types.js';

const NETWORK_TYPES = [
  MessageType.App, MessageType.AppResp, MessageType.Vote, MessageType.VoteResp, MessageType.PreVote,
  MessageType.PreVoteResp, MessageType.Heartbeat, MessageType.HeartbeatResp, MessageType.Snap,
  MessageType.TransferLeader, MessageType.TimeoutNow, MessageType.ReadIndex, MessageType.ReadIndexResp,
] as const;

export function randomBytes(rng: SeededRandom, n: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  for (let i = 0; i < words.length; i++) words[i] = rng.nextU32();
  return new Uint8Array(words.buffer, 0, n);
}

function u64(rng: SeededRandom): number {
  switch (rng.int(4)) {
    case 0: return 0;
    case 1: return rng.int(1000);
    case 2: return Number.MAX_SAFE_INTEGER;
    default: return rng.nextU32() * 1024 + rng.int(1024);
  }
}

/** A random valid network message: every field exercised, edge values included. */
export function randomMessage(rng: SeededRandom): Message {
  const type = NETWORK_TYPES[rng.int(NETWORK_TYPES.length)] ?? MessageType.App;
  const entries: Entry[] = [];
  const entryCount = rng.int(4);
  for (let i = 0; i < entryCount; i++) {
    entries.push({ term: u64(rng), index: u64(rng), type: rng.int(2) === 0 ? 0 : 1, data: randomBytes(rng, rng.int(40)) });
  }
  const snapshot = rng.int(3) === 0
    ? {
        meta: {
          index: u64(rng),
          term: u64(rng),
          conf: { voters: Array.from({ length: rng.int(4) }, () => 1 + rng.int(9)), learners: Array.from({ length: rng.int(3) }, () => 1 + rng.int(9)) },
        },
        data: randomBytes(rng, rng.int(30)),
      }
    : null;
  return makeMessage({
    type, from: 1 + rng.int(5), to: 1 + rng.int(5), term: u64(rng), logTerm: u64(rng), index: u64(rng),
    commit: u64(rng), reject: rng.int(2) === 1, rejectHint: u64(rng), context: randomBytes(rng, rng.int(20)),
    entries, snapshot,
  });
}

/** Plain-data view of a message so toEqual compares values, not Buffer vs Uint8Array classes. */
export function plain(m: Message): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));
}
