import { assert } from '../common/assert.js';
import type { Random } from '../common/random.js';
import type { NodeId } from './types.js';

/**
 * Test-only switches that deliberately break a rule, so tests can show the simulation's checker
 * catches the bug. Never set in production code paths (the node driver has no way to set them).
 */
export interface BrokenRules {
  /** Grant votes without the "candidate's log is at least as up-to-date" check (§5.4.1). */
  readonly voteWithoutLogCheck?: boolean;
  /** Commit entries of previous terms by counting replicas (the Figure 8 bug, §5.4.2). */
  readonly commitPreviousTermByCounting?: boolean;
  /** Serve ReadIndex immediately at the leader's commit index without a heartbeat round. */
  readonly readIndexWithoutQuorum?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Followers start an election after a random timeout in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Payload bytes per append message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Append messages in flight per follower in the replicate state. */
  readonly inflightMessagesMax: number;
  /** Payload bytes in flight per follower in the replicate state. */
  readonly inflightBytesMax: number;
  /** Proposals are refused once the leader's uncommitted payload passes this. */
  readonly uncommittedBytesMax: number;
  /** Payload bytes of committed entries handed out per Ready. */
  readonly committedBytesPerReadyMax: number;
  /** Index already applied by the state machine at start (entries after it are re-delivered). */
  readonly applied: number;
  readonly random: Random;
  readonly broken?: BrokenRules;
}

export const RAFT_DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  appendBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  committedBytesPerReadyMax: 16 * 1024 * 1024,
  applied: 0,
} as const;

export type RaftConfigInput = Partial<RaftConfig> & Pick<RaftConfig, 'id' | 'random'>;

export function resolveConfig(input: RaftConfigInput): RaftConfig {
  const c: RaftConfig = { ...RAFT_DEFAULTS, ...input };
  assert(Number.isInteger(c.id) && c.id > 0 && c.id <= 0xffffffff, `node id must be an integer in [1, 2^32): ${c.id}`);
  assert(c.heartbeatTicks > 0, 'heartbeatTicks must be positive');
  assert(c.electionTicks > c.heartbeatTicks, 'electionTicks must be greater than heartbeatTicks');
  assert(c.inflightMessagesMax > 0, 'inflightMessagesMax must be positive');
  assert(c.appendBytesMax > 0 && c.inflightBytesMax >= c.appendBytesMax, 'inflightBytesMax must be >= appendBytesMax');
  return c;
}
