/** Pure rules of etcd's Member API over raftkv's raft configuration (cluster.ts applies them). */
import { InvalidArgumentError } from '../../common/errors.js';
import type { ServiceNodeStats } from '../node-port.js';
import { EtcdError } from './errors.js';

/** A member heard from within this long counts as started for etcd's strict reconfiguration check. */
export const STARTED_CONTACT_MS = 5_000;
/** etcd's readyPercent: a learner is in sync when its match index is at least this share of the leader's. */
export const LEARNER_READY_SHARE = 0.9;

const SCHEMES = new Set(['http:', 'https:']);

/**
 * etcd's peerURLs as raftkv's one raft address (host:port). etcd's rules (types.NewURLs): every URL
 * parses, has a scheme it knows, a host:port and no path; otherwise "given member URLs are invalid".
 */
export function parsePeerUrls(urls: readonly string[]): string {
  if (urls.length === 0) throw new EtcdError('memberBadURLs');
  const addrs = urls.map(parseOne);
  if (new Set(addrs).size > 1) throw new InvalidArgumentError('a raftkv member has one raft address: give exactly one peer URL');
  return addrs[0]!;
}

function parseOne(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new EtcdError('memberBadURLs');
  }
  if (!SCHEMES.has(u.protocol) || u.port === '' || u.hostname === '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    throw new EtcdError('memberBadURLs');
  }
  return `${u.hostname}:${u.port}`;
}

/** Two raft addresses name the same listener (host names compare without case). */
export function samePeer(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The id MemberAdd gives a new member: above every id in use, so no removed member's id comes back while higher ones live. */
export function nextMemberId(inUse: readonly number[]): number {
  return inUse.reduce((max, id) => Math.max(max, id), 0) + 1;
}

export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Started for etcd's check: this node itself, or a member the leader heard from recently. */
export function isStarted(s: Pick<ServiceNodeStats, 'lastContactMs'>, selfId: number, id: number): boolean {
  if (id === selfId) return true;
  const ms = s.lastContactMs.get(id);
  return ms !== undefined && ms <= STARTED_CONTACT_MS;
}

/** etcd's isLearnerReady: the learner's match index is at least 90% of the leader's (leader's view). */
export function learnerInSync(s: Pick<ServiceNodeStats, 'raft'>, leaderId: number, id: number): boolean {
  const learner = s.raft.progress.get(id);
  if (learner === undefined) return false;
  const leaderMatch = Math.max(s.raft.progress.get(leaderId)?.match ?? 0, s.raft.lastIndex);
  return learner.match >= leaderMatch * LEARNER_READY_SHARE;
}
