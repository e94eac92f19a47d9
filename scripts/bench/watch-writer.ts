/**
 * The watchers case's writer, in a worker thread of its own: the main thread decodes every event
 * of every watcher and can be busy for seconds at a time, which would otherwise hold the writer
 * back from its rate. The worker puts new keys under the prefix at `rate` puts/s (paced against
 * the start, so a late put is followed by quicker ones) and writes its clock into each value;
 * `nowMs()` reads process.hrtime, which both threads share, so receipt minus send is meaningful.
 * The worker loads this TypeScript file through tsx's loader (workers do not inherit it).
 */
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EtcdApi } from './etcd-api.js';

const WORKER_ROLE = 'bench-watch-writer';
const PUTS_IN_FLIGHT_MAX = 1000;
const PUT_TIMEOUT_MS = 5_000;

export interface WriterOptions {
  readonly endpoint: string;
  readonly prefix: string;
  readonly rate: number;
  readonly durationS: number;
  /** At least 8: the first 8 bytes hold the send time (float64, ms). */
  readonly valueBytes: number;
}

export interface WriterResult {
  puts: number;
  putErrors: number;
  elapsedS: number;
}

/** Milliseconds on a clock every thread of this process shares. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const keyOf = (prefix: string, i: number): Buffer => Buffer.from(`${prefix}${String(i).padStart(10, '0')}`);

async function writerMain(o: WriterOptions, api: EtcdApi): Promise<WriterResult> {
  try {
    const total = Math.round(o.rate * o.durationS);
    let puts = 0;
    let putErrors = 0;
    const inFlight = new Set<Promise<unknown>>();
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / o.rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      while (inFlight.size >= PUTS_IN_FLIGHT_MAX) await Promise.race(inFlight);
      const value = Buffer.alloc(o.valueBytes);
      value.writeDoubleLE(nowMs(), 0);
      const p: Promise<unknown> = api.put(keyOf(o.prefix, i), value, PUT_TIMEOUT_MS).then(() => { puts++; }, () => { putErrors++; }).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    return { puts, putErrors, elapsedS: (performance.now() - t0) / 1000 };
  } finally {
    api.close();
  }
}

/** A writer thread started and loaded, waiting for `run()`: its start-up is not in the run's CPU. */
export interface Writer {
  run(): Promise<WriterResult>;
  stop(): Promise<void>;
}

const READY = 'ready';
const GO = 'go';

/** Starts the writer's worker thread; resolves once it has loaded and waits for `run()`. */
export async function startWriter(o: WriterOptions): Promise<Writer> {
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const w = new Worker(boot, { eval: true, workerData: { role: WORKER_ROLE, options: o } });
  const failed = new Promise<never>((_, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the watch writer exited (code ${code}) before reporting`)));
  });
  failed.catch(() => undefined); // observed through the races below
  await Promise.race([new Promise((resolve) => w.once('message', resolve)), failed]);
  return {
    run: () => {
      const result = new Promise<WriterResult>((resolve) => w.once('message', resolve));
      w.postMessage(GO);
      return Promise.race([result, failed]);
    },
    stop: async () => { await w.terminate(); },
  };
}

const data = workerData as { role?: string; options?: WriterOptions } | null;
if (!isMainThread && data?.role === WORKER_ROLE && data.options !== undefined) {
  const o = data.options;
  const api = new EtcdApi(o.endpoint);
  const fail = (e: unknown): never => {
    throw e; // an uncaught error in the worker reaches the 'error' listener
  };
  // Load the protos and connect (a key outside the watched prefix) before reporting ready.
  api.put(Buffer.from('bench/writer-warmup'), Buffer.from('1'), PUT_TIMEOUT_MS).then(() => {
    parentPort!.once('message', () => {
      writerMain(o, api).then((r) => parentPort!.postMessage(r), fail);
    });
    parentPort!.postMessage(READY);
  }, fail);
}
