import type { KvStats } from '../kv/store.js';
import type { Registry } from './registry.js';

/** KvStore.stats(): plain fields, cheap to read on every scrape. */
export function registerKvMetrics(r: Registry, stats: () => KvStats): void {
  const s = r.perScrape(stats);
  const gauge = (name: string, help: string, read: (st: KvStats) => number): void => r.callbackGauge({ name, help, collect: (e) => e(read(s())) });
  gauge('raftkv_kv_revision', 'Current revision of the key-value store (bumped by every write).', (st) => st.revision);
  gauge('raftkv_kv_keys', 'Keys in the store.', (st) => st.keys);
  gauge('raftkv_kv_watchers', 'Open watches on this node.', (st) => st.watchers);
  gauge('raftkv_kv_watch_history_events', 'Events kept in memory so watches can start from a past revision.', (st) => st.historyEvents);
  gauge('raftkv_kv_watch_floor_revision', 'Oldest revision a watch can start from.', (st) => st.watchFloorRevision);
  gauge('raftkv_kv_dedupe_clients', 'Clients whose request ids are remembered to apply retried writes once.', (st) => st.dedupeClients);
}
