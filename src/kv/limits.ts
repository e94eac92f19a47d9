/** Named limits of the state machine (the request limits live in src/common/limits.ts). */
export interface KvLimits {
  /** Clients remembered in the dedupe table; the least recently written is forgotten first. */
  readonly clientsMax: number;
  readonly clientIdBytesMax: number;
  /** Recent events kept in memory for watches that start in the past (older ones are read from the db). */
  readonly watchHistoryEventsMax: number;
  readonly watchHistoryBytesMax: number;
  /**
   * Undelivered live events per watcher; a watcher that falls further behind stops taking live events
   * and catches up from the history instead (memory, then the db), as etcd's unsynced watchers do.
   */
  readonly watcherBufferEventsMax: number;
  readonly watchersMax: number;
  /** Events handed out per step while a watcher catches up from history. */
  readonly watchBatchEventsMax: number;
  /** History records looked at per step while a watcher catches up from the db (rare keys). */
  readonly watchHistoryScanRecordsMax: number;
  /**
   * Records read per step of a physical compaction; steps take turns with applies in the store's job
   * queue, so a big compaction never holds applies for longer than one step.
   */
  readonly compactionStepEntries: number;
  /** Callers waiting at once for a physical compaction to finish (Compact with physical). */
  readonly compactionWaitersMax: number;
  /** Page size of a range when its limit is 0, and the largest limit honoured. */
  readonly rangeKvsMax: number;
  /** A page ends after the kv that reaches this many key + value bytes (at least one kv per page). */
  readonly rangePageBytesMax: number;
  /** A remembered result larger than this is replaced by a short "applied at revision R" notice. */
  readonly dedupeResultBytesMax: number;
  /** One record of a snapshot stream (a db key + value); larger means the stream is corrupt. */
  readonly snapshotRecordBytesMax: number;
  /** Bytes written per batch while restoring. */
  readonly restoreBatchBytes: number;
}

export const defaultKvLimits: KvLimits = {
  clientsMax: 10_000,
  clientIdBytesMax: 128,
  watchHistoryEventsMax: 10_000,
  watchHistoryBytesMax: 64 * 1024 * 1024,
  watcherBufferEventsMax: 1_000,
  watchersMax: 10_000,
  watchBatchEventsMax: 1_000,
  watchHistoryScanRecordsMax: 10_000,
  compactionStepEntries: 1_000,
  compactionWaitersMax: 1_000,
  rangeKvsMax: 10_000,
  rangePageBytesMax: 4 * 1024 * 1024,
  dedupeResultBytesMax: 4 * 1024 * 1024,
  snapshotRecordBytesMax: 16 * 1024 * 1024,
  restoreBatchBytes: 4 * 1024 * 1024,
};
