import { randomUUID } from 'node:crypto';
import { ClientOverloadedError } from './errors.js';

/** The request id a write carries: the server applies a (clientId, seq) once. */
export interface WriteId {
  readonly clientId: string;
  readonly seq: number;
}

/**
 * The server remembers only the LAST applied seq per client id and rejects an older one. Concurrent
 * writes from one id could arrive out of order, so each in-flight write borrows a session (its own
 * client id with its own seq counter) and returns it when the write settles: per session, writes are
 * strictly sequential and seqs arrive in order. Sessions are reused, so the server's table stays at
 * the client's peak write concurrency (bounded by `sessionsMax`).
 */
export class WriteSessions {
  private readonly idle: Array<{ clientId: string; seq: number }> = [];
  private created = 0;

  constructor(
    private readonly clientIdPrefix: string,
    private readonly sessionsMax: number,
  ) {}

  /** Takes a session and the next id on it. Call `release(id)` when the write has settled. */
  acquire(): WriteId {
    let s = this.idle.pop();
    if (s === undefined) {
      if (this.created >= this.sessionsMax) throw new ClientOverloadedError(this.sessionsMax);
      s = { clientId: this.created === 0 ? this.clientIdPrefix : `${this.clientIdPrefix}/${this.created}`, seq: 0 };
      this.created++;
    }
    s.seq++;
    return { clientId: s.clientId, seq: s.seq };
  }

  release(id: WriteId): void {
    this.idle.push({ clientId: id.clientId, seq: id.seq });
  }

  get sessionsCreated(): number {
    return this.created;
  }
}

export function newClientId(): string {
  return randomUUID();
}
