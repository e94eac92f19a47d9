/** Where a peer without a valid certificate was turned away. */
export type RefusalPath = 'raft_inbound' | 'raft_outbound' | 'forward';

/** Distinct (path, remote host) pairs remembered for logging; later new ones are counted but not logged. */
export const REFUSAL_LOG_SOURCES_MAX = 256;

export interface RefusalCounts {
  readonly raft_inbound: number;
  readonly raft_outbound: number;
  readonly forward: number;
}

/** What a refusal is reported to: a counter per path, and one log line per remote host and path. */
export type RefusalLogger = (fields: { path: RefusalPath; remote: string; reason: string }, message: string) => void;

/**
 * Counts every refused peer connection or forwarded call, and logs the first refusal from each remote
 * host on each path only: a misconfigured or hostile peer retries every few milliseconds, and one
 * line per attempt would drown the log.
 */
export class PeerRefusals {
  private readonly counts: Record<RefusalPath, number> = { raft_inbound: 0, raft_outbound: 0, forward: 0 };
  private readonly logged = new Set<string>();
  private saturatedLogged = false;

  constructor(private readonly log: RefusalLogger) {}

  refuse(path: RefusalPath, remote: string, reason: string): void {
    this.counts[path] += 1;
    const host = remote.replace(/:\d+$/, '');
    const key = `${path} ${host}`;
    if (this.logged.has(key)) return;
    if (this.logged.size >= REFUSAL_LOG_SOURCES_MAX) {
      if (!this.saturatedLogged) this.log({ path, remote, reason }, `peer refused; ${REFUSAL_LOG_SOURCES_MAX} sources already logged, further new sources are only counted`);
      this.saturatedLogged = true;
      return;
    }
    this.logged.add(key);
    this.log({ path, remote, reason }, 'peer refused: no valid certificate from the peer CA (logged once per source; see raftkv_transport_tls_refused_total)');
  }

  snapshot(): RefusalCounts {
    return { ...this.counts };
  }
}
