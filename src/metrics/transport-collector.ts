import type { TransportStats } from '../transport/raft/stats.js';
import type { Registry } from './registry.js';

type CounterKey = { [K in keyof TransportStats]: TransportStats[K] extends number ? K : never }[keyof TransportStats];

/**
 * TransportStats counter → metric name, help and an optional label that folds related counters
 * (the drop reasons) into one family. Counters added to TransportStats later and missing here are
 * still exported, as raftkv_transport_other_total{counter="<key>"}.
 */
const COUNTERS: ReadonlyArray<{ key: CounterKey; name: string; help: string; label?: readonly [string, string] }> = [
  { key: 'messagesSent', name: 'raftkv_transport_sent_messages_total', help: 'Raft messages queued for sending to peers.' },
  { key: 'bytesSent', name: 'raftkv_transport_sent_bytes_total', help: 'Bytes of raft messages sent to peers.' },
  { key: 'messagesDelivered', name: 'raftkv_transport_received_messages_total', help: 'Raft messages received and delivered to the node.' },
  { key: 'bytesReceived', name: 'raftkv_transport_received_bytes_total', help: 'Bytes of raft messages received from peers.' },
  { key: 'droppedQueueFull', name: 'raftkv_transport_dropped_messages_total', help: 'Raft messages not sent, by reason.', label: ['reason', 'queue_full'] },
  { key: 'droppedNoAddress', name: 'raftkv_transport_dropped_messages_total', help: '', label: ['reason', 'no_address'] },
  { key: 'droppedDisconnected', name: 'raftkv_transport_dropped_messages_total', help: '', label: ['reason', 'disconnected'] },
  { key: 'droppedUnencodable', name: 'raftkv_transport_dropped_messages_total', help: '', label: ['reason', 'unencodable'] },
  { key: 'droppedInvalid', name: 'raftkv_transport_dropped_messages_total', help: '', label: ['reason', 'invalid'] },
  { key: 'unreachableReports', name: 'raftkv_transport_unreachable_reports_total', help: 'Peers reported unreachable to raft.' },
  { key: 'connectionsDialed', name: 'raftkv_transport_connections_dialed_total', help: 'Outbound connections attempted.' },
  { key: 'connectionsEstablished', name: 'raftkv_transport_connections_established_total', help: 'Outbound connections established.' },
  { key: 'connectionFailures', name: 'raftkv_transport_connection_failures_total', help: 'Outbound connections that failed or broke.' },
  { key: 'connectionsStalled', name: 'raftkv_transport_connections_stalled_total', help: 'Outbound connections closed and redialled because written frames went unacknowledged.' },
  { key: 'connectionsAccepted', name: 'raftkv_transport_connections_accepted_total', help: 'Inbound connections accepted.' },
  { key: 'connectionsRefused', name: 'raftkv_transport_connections_refused_total', help: 'Inbound connections refused at the connection limit.' },
  { key: 'frameErrors', name: 'raftkv_transport_frame_errors_total', help: 'Inbound connections closed for a malformed or unexpected frame.' },
  { key: 'handshakeTimeouts', name: 'raftkv_transport_handshake_timeouts_total', help: 'Inbound connections without a valid handshake in time.' },
  { key: 'misaddressedMessages', name: 'raftkv_transport_misaddressed_messages_total', help: 'Inbound messages whose from/to did not match the connection.' },
  { key: 'handlerErrors', name: 'raftkv_transport_handler_errors_total', help: 'Inbound messages lost because the handler threw.' },
  { key: 'snapshotsSent', name: 'raftkv_transport_snapshots_sent_total', help: 'Snapshots streamed to peers.' },
  { key: 'snapshotSendFailures', name: 'raftkv_transport_snapshot_send_failures_total', help: 'Snapshot streams to peers that failed.' },
  { key: 'snapshotsReceived', name: 'raftkv_transport_snapshots_received_total', help: 'Snapshots received from the leader.' },
  { key: 'snapshotReceiveFailures', name: 'raftkv_transport_snapshot_receive_failures_total', help: 'Snapshot streams from the leader that failed.' },
  { key: 'snapshotBytesSent', name: 'raftkv_transport_snapshot_sent_bytes_total', help: 'Snapshot bytes streamed to peers.' },
  { key: 'snapshotBytesReceived', name: 'raftkv_transport_snapshot_received_bytes_total', help: 'Snapshot bytes received from the leader.' },
];

/** The raft transport's counters, read from the node's stats at scrape time. */
export function registerTransportMetrics(r: Registry, stats: () => TransportStats): void {
  const t = r.perScrape(stats);
  const families = new Map<string, { help: string; labelName: string | null; rows: Array<(typeof COUNTERS)[number]> }>();
  for (const c of COUNTERS) {
    const f = families.get(c.name) ?? { help: c.help, labelName: c.label?.[0] ?? null, rows: [] };
    f.rows.push(c);
    families.set(c.name, f);
  }
  for (const [name, f] of families) {
    r.callbackCounter({
      name, help: f.help, ...(f.labelName ? { labelNames: [f.labelName] } : {}),
      collect: (e) => {
        const st = t();
        for (const c of f.rows) e(st[c.key], c.label ? { [c.label[0]]: c.label[1] } : undefined);
      },
    });
  }
  r.callbackCounter({
    name: 'raftkv_transport_frame_errors_by_reason_total', help: 'Malformed or unexpected inbound frames, by reason.', labelNames: ['reason'],
    collect: (e) => {
      for (const [reason, n] of Object.entries(t().frameErrorsByReason)) e(n ?? 0, { reason });
    },
  });
  const known = new Set<string>([...COUNTERS.map((c) => c.key), 'frameErrorsByReason']);
  r.callbackCounter({
    name: 'raftkv_transport_other_total', help: 'Transport counters without a metric of their own yet, by TransportStats field.', labelNames: ['counter'],
    collect: (e) => {
      for (const [k, v] of Object.entries(t())) if (!known.has(k) && typeof v === 'number') e(v, { counter: k });
    },
  });
}

/** Refusals by where they happened (see src/transport/tls/refusals.ts); a structural copy keeps src/metrics off src/transport. */
export type PeerRefusalCounts = Readonly<Record<'raft_inbound' | 'raft_outbound' | 'forward', number>>;

/** raftkv_transport_tls_refused_total{path}: peers without a certificate from the peer CA, turned away. */
export function registerPeerTlsMetrics(r: Registry, counts: () => PeerRefusalCounts): void {
  r.callbackCounter({
    name: 'raftkv_transport_tls_refused_total',
    help: 'Raft connections (inbound, outbound) and forwarded calls refused for lack of a valid certificate from the peer CA.',
    labelNames: ['path'],
    collect: (e) => {
      for (const [path, n] of Object.entries(counts())) e(n, { path });
    },
  });
}
