// Throughput probe (not a test): npx tsx test/transport/bench.ts
import { makeMessage, MessageType } from '../../src/raft/types.js';
import { connectAll, startNode, waitFor } from './harness.js';

const [a, b] = [await startNode(1), await startNode(2)];
connectAll([a, b]);
const entryBytes = Number(process.argv[2] ?? 1024 * 1024);
const count = Number(process.argv[3] ?? 200);
const data = new Uint8Array(entryBytes);
const window = Math.min(2048, Math.max(8, Math.floor((16 * 1024 * 1024) / entryBytes)));
const t0 = performance.now();
for (let i = 1; i <= count; i++) {
  a.transport.send(makeMessage({ type: MessageType.App, from: 1, to: 2, entries: [{ term: 1, index: i, type: 0, data }] }));
  if (i % window === 0) await waitFor(() => b.rec.messages.length >= i - window, 'window');
}
await waitFor(() => b.rec.messages.length === count, 'all', 60_000);
const ms = performance.now() - t0;
console.log(`${count} x ${entryBytes} B in ${ms.toFixed(0)} ms = ${((count * entryBytes) / 1048576 / (ms / 1000)).toFixed(1)} MiB/s, ${(count / (ms / 1000)).toFixed(0)} msg/s; dropped ${a.transport.stats().droppedQueueFull}`);
await a.transport.close();
await b.transport.close();
