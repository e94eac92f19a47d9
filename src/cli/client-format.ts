import type { KeyValue, Member, StatusResult, WatchEvent } from '../client/index.js';

/** Human-readable and JSON renderings of client results, like etcdctl's --write-out. */
export const OUTPUT_FORMATS = ['simple', 'json', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Bytes as text when they are printable UTF-8, otherwise as 0x-hex. */
export function showBytes(b: Buffer): string {
  const s = b.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(s, 'utf8').equals(b) && !/[\u0000-\u0008\u000e-\u001f\u007f\ufffd]/.test(s)) return s;
  return `0x${b.toString('hex')}`;
}

/** JSON with Buffers rendered by showBytes. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return showBytes(Buffer.from((v as { data: number[] }).data));
    }
    return v;
  });
}

export function kvLine(kv: KeyValue, keysOnly: boolean): string {
  return keysOnly ? showBytes(kv.key) : `${showBytes(kv.key)} = ${showBytes(kv.value)}`;
}

export function eventLine(e: WatchEvent): string {
  if (e.type === 'delete') return `DELETE ${showBytes(e.kv.key)} (revision ${e.kv.modRevision})`;
  return `PUT ${showBytes(e.kv.key)} = ${showBytes(e.kv.value)} (revision ${e.kv.modRevision})`;
}

export function membersTable(members: readonly Member[]): string {
  const rows = [['ID', 'SUFFRAGE', 'LEADER', 'RAFT ADDRESS', 'GRPC ADDRESS', 'MATCH INDEX', 'LAST CONTACT']];
  for (const m of members) {
    rows.push([String(m.id), m.suffrage, m.leader ? '*' : '', m.raftAddress, m.grpcAddress || '-', String(m.matchIndex), m.leader ? '-' : `${m.lastContactMs} ms`]);
  }
  return columns(rows);
}

/** Rows as aligned columns; the first row is the header. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function kvTable(kvs: readonly KeyValue[], keysOnly: boolean): string {
  const header = keysOnly ? ['KEY', 'CREATE REV', 'MOD REV', 'VERSION'] : ['KEY', 'VALUE', 'CREATE REV', 'MOD REV', 'VERSION'];
  const rows = kvs.map((kv) => {
    const revs = [String(kv.createRevision), String(kv.modRevision), String(kv.version)];
    return keysOnly ? [showBytes(kv.key), ...revs] : [showBytes(kv.key), showBytes(kv.value), ...revs];
  });
  return columns([header, ...rows]);
}

export function statusTable(s: StatusResult): string {
  return columns([['FIELD', 'VALUE'], ...statusFields(s).map(([k, v]) => [k, String(v)])]);
}

export function statusText(s: StatusResult): string {
  return statusFields(s).map(([k, v]) => `${`${k}:`.padEnd(15)}${v}`).join('\n');
}

function statusFields(s: StatusResult): Array<[string, string | number]> {
  return [
    ['member', s.header.memberId], ['role', s.role], ['leader', s.header.leaderId || 'unknown'], ['term', s.header.raftTerm],
    ['commit index', s.commitIndex], ['applied index', s.appliedIndex],
    ['log', `${s.logEntries} entries (${s.firstLogIndex}..${s.lastLogIndex}), ${s.logBytes} bytes`],
    ['snapshots', `${s.snapshotsTaken} taken, last at index ${s.lastSnapshotIndex}`],
    ['kv', `revision ${s.kvRevision}, ${s.kvKeys} keys`], ['voters', s.voters], ['nonvoters', s.nonvoters],
    ['version', s.version || 'unknown'], ['uptime', `${Math.round(s.uptimeMs / 1000)} s`],
  ];
}
