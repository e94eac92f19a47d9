/**
 * Throughput and latency of a running raftkv cluster:
 *   npm run bench -- --endpoints 127.0.0.1:2379,127.0.0.1:2380 [--duration_s 10] [--out result.json]
 * Cases: put, stale get and linearizable get at concurrency 1, 16 and 128 (each case runs for
 * --duration_s); 16-byte keys drawn uniformly from --keys (100k) keys, --value_bytes (256) values.
 * Keys are pre-populated before the get cases. Progress goes to stderr, the JSON result to stdout.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { RaftkvClient, readClientTls, type ClientTls } from '../src/client/index.js';
import { UsageError, parseArgs, type FlagKind } from '../src/cli/client-args.js';
import { Histogram } from './bench/histogram.js';

const OPS = ['put', 'get-stale', 'get-linearizable'] as const;
type Op = (typeof OPS)[number];
const KEY_BYTES = 16;
/** Writes in flight while pre-populating. */
const POPULATE_CONCURRENCY = 128;
interface Config {
  endpoints: string[];
  durationS: number;
  keys: number;
  valueBytes: number;
  concurrency: number[];
  ops: Op[];
  timeoutMs: number;
  out: string | null;
  /** --tls (the certificates of `npm start -- --tls`) or --cacert/--cert/--key. */
  tls: ClientTls | undefined;
}

const FLAGS = new Map<string, FlagKind>([
  ['endpoints', 'string'], ['duration_s', 'int'], ['keys', 'int'], ['value_bytes', 'int'],
  ['concurrency', 'string'], ['ops', 'string'], ['timeout_ms', 'int'], ['out', 'string'], ['help', 'bool'],
  ['tls', 'bool'], ['tls_dir', 'string'], ['cacert', 'string'], ['cert', 'string'], ['key', 'string'],
]);

function config(argv: string[]): Config {
  const { positionals, flags } = parseArgs(argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (flags.has('help')) {
    process.stdout.write('usage: npm run bench -- [--endpoints h:p,...] [--duration_s 10] [--keys 100000] [--value_bytes 256] [--concurrency 1,16,128] [--ops put,get-stale,get-linearizable] [--timeout_ms 5000] [--out FILE] [--tls [--tls_dir .data/local-cluster/tls] | --cacert F [--cert F --key F]]\n');
    process.exit(0);
  }
  const str = (k: string): string | undefined => { const v = flags.get(k); return typeof v === 'string' ? v : undefined; };
  const num = (k: string, d: number): number => Number(str(k) ?? d);
  const ops = (str('ops') ?? OPS.join(',')).split(',');
  for (const o of ops) if (!(OPS as readonly string[]).includes(o)) throw new UsageError(`unknown op ${o}; known: ${OPS.join(', ')}`);
  const concurrency = (str('concurrency') ?? '1,16,128').split(',').map(Number);
  if (concurrency.some((c) => !Number.isSafeInteger(c) || c < 1)) throw new UsageError('--concurrency needs positive integers');
  const c: Config = {
    endpoints: (str('endpoints') ?? process.env['RAFTKV_ENDPOINTS'] ?? '127.0.0.1:2379').split(','),
    durationS: num('duration_s', 10), keys: num('keys', 100_000), valueBytes: num('value_bytes', 256),
    concurrency, ops: ops as Op[], timeoutMs: num('timeout_ms', 5000), out: str('out') ?? null,
    tls: benchTls(flags.has('tls'), str),
  };
  if (c.durationS < 1 || c.keys < 1) throw new UsageError('--duration_s and --keys must be at least 1');
  return c;
}

/** `--tls` uses the client certificate `npm start -- --tls` made; explicit files win. */
function benchTls(tls: boolean, str: (k: string) => string | undefined): ClientTls | undefined {
  const dir = str('tls_dir') ?? '.data/local-cluster/tls';
  const pick = (flag: string, file: string): string | undefined => str(flag) ?? (tls ? `${dir}/${file}` : undefined);
  return readClientTls({ cacert: pick('cacert', 'ca.crt'), cert: pick('cert', 'client.crt'), key: pick('key', 'client.key') });
}

/** 16 bytes: "k" and the zero-padded index. */
function keyOf(i: number): string {
  return `k${String(i).padStart(KEY_BYTES - 1, '0')}`;
}

function progress(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else process.stderr.write(`${line}\n`);
}

async function populate(client: RaftkvClient, cfg: Config, value: Buffer): Promise<void> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const timer = setInterval(() => progress(`populate: ${done}/${cfg.keys} keys, ${((performance.now() - started) / 1000).toFixed(0)} s`), 1000);
  try {
    await Promise.all(Array.from({ length: POPULATE_CONCURRENCY }, async () => {
      while (next < cfg.keys) {
        const i = next++;
        await client.put(keyOf(i), value);
        done++;
      }
    }));
  } finally {
    clearInterval(timer);
  }
  progress(`populate: ${cfg.keys} keys in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

interface CaseResult {
  op: Op;
  concurrency: number;
  ops: number;
  errors: number;
  firstError: string | null;
  durationS: number;
  opsPerSec: number;
  latencyMs: ReturnType<Histogram['summary']>;
}

async function runCase(client: RaftkvClient, cfg: Config, op: Op, concurrency: number, value: Buffer): Promise<CaseResult> {
  const hist = new Histogram();
  let ops = 0;
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const endAt = started + cfg.durationS * 1000;
  const label = `${op} c=${concurrency}`;
  const timer = setInterval(() => {
    const s = (performance.now() - started) / 1000;
    progress(`${label}: ${s.toFixed(0)}/${cfg.durationS} s, ${ops} ops, ${Math.round(ops / s)} ops/s, ${errors} errors`);
  }, 1000);
  const once = (key: string): Promise<unknown> => op === 'put'
    ? client.put(key, value)
    : client.get(key, { consistency: op === 'get-stale' ? 'stale' : 'linearizable' });
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < endAt) {
        const key = keyOf(Math.floor(Math.random() * cfg.keys));
        const t0 = performance.now();
        try {
          await once(key);
          hist.record(performance.now() - t0);
          ops++;
        } catch (e) {
          errors++;
          firstError ??= e instanceof Error ? e.message : String(e);
        }
      }
    }));
  } finally {
    clearInterval(timer);
  }
  const durationS = (performance.now() - started) / 1000;
  const r: CaseResult = { op, concurrency, ops, errors, firstError, durationS: Math.round(durationS * 100) / 100, opsPerSec: Math.round(ops / durationS), latencyMs: hist.summary() };
  progress(`${label}: ${r.opsPerSec} ops/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, p99.9 ${r.latencyMs.p999} ms, ${errors} errors\n`);
  return r;
}

async function main(): Promise<number> {
  let cfg: Config;
  try {
    cfg = config(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench-kv: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const client = new RaftkvClient({ endpoints: cfg.endpoints, defaultTimeoutMs: cfg.timeoutMs, writesInFlightMax: Math.max(POPULATE_CONCURRENCY, ...cfg.concurrency), ...(cfg.tls ? { tls: cfg.tls } : {}) });
  const value = randomBytes(cfg.valueBytes);
  const results: CaseResult[] = [];
  try {
    const status = await client.status();
    process.stderr.write(`bench-kv: ${cfg.endpoints.join(',')} (node ${status.header.memberId}, ${status.role}, leader ${status.header.leaderId}), ${cfg.durationS} s per case\n`);
    let populated = false;
    for (const op of cfg.ops) {
      if (op !== 'put' && !populated) {
        await populate(client, cfg, value);
        populated = true;
      }
      for (const c of cfg.concurrency) results.push(await runCase(client, cfg, op, c, value));
    }
  } finally {
    client.close();
  }
  const report = {
    endpoints: cfg.endpoints, keys: cfg.keys, keyBytes: KEY_BYTES, valueBytes: cfg.valueBytes,
    durationSPerCase: cfg.durationS, node: process.version, when: new Date().toISOString(), results,
  };
  const json = JSON.stringify(report, null, 2);
  process.stdout.write(`${json}\n`);
  if (cfg.out !== null) writeFileSync(cfg.out, `${json}\n`);
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  const err = e as { code?: unknown; message?: unknown };
  process.stderr.write(`\nbench-kv: ${typeof err.code === 'string' ? `${err.code}: ` : ''}${String(err.message ?? e)}\n`);
  process.exit(1);
});
