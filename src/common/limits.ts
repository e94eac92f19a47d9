/** Named, finite limits (DESIGN.md "Limits"). Everything that queues or buffers has one. */
export const Limits = {
  keyBytesMax: 4 * 1024,
  valueBytesMax: 1024 * 1024,
  requestBytesMax: 1.5 * 1024 * 1024,
  txnOpsMax: 128,
  raftFrameBytesMax: 8 * 1024 * 1024,
  gossipPacketBytesMax: 1400,
  gossipMetaBytesMax: 512,
} as const;
