/**
 * The forwarding stream over real gRPC servers on loopback: a Forwarder multiplexes unary calls over
 * one bidi stream to a server running serveForwardStream, which runs each through the method's own
 * unary handler; a server without the stream (an older version) gets plain unary calls.
 */
import { Metadata, Server, ServerCredentials, credentials, Client, status, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticResolver } from '../../src/resolver/static.js';
import { FORWARDED_HEADER, Forwarder } from '../../src/service/forward.js';
import { FrameKind, decodeFrame, encodeFrame, BadFrameError } from '../../src/service/forward-frames.js';
import { ForwardStreamService, ForwardTargets, serveForwardStream } from '../../src/service/forward-serve.js';
import { FORWARD_STREAM_PATH } from '../../src/service/forward-stream.js';

interface Say { text: string }
interface Said { text: string; forwardedBy: string; via: 'stream' | 'unary' }

const json = <T>(v: T): Buffer => Buffer.from(JSON.stringify(v));
const parse = <T>(b: Buffer): T => JSON.parse(b.toString()) as T;
const SAY = { path: '/test.Echo/Say', requestStream: false, responseStream: false, requestSerialize: json<Say>, requestDeserialize: parse<Say>, responseSerialize: json<Said>, responseDeserialize: parse<Said> };
const EchoService = { say: SAY };

/** What the servers saw: streams opened, calls cancelled under the handler. */
const seen = { streamsOpened: 0, cancelled: 0 };

function sayHandler(call: ServerUnaryCall<Say, Said>, cb: sendUnaryData<Said>): void {
  const text = call.request.text;
  const via = call.constructor.name === 'FramedCall' ? 'stream' : 'unary';
  if (text === 'fail') {
    const md = new Metadata();
    md.set('raftkv-error-code', 'NOT_FOUND');
    cb({ code: status.NOT_FOUND, details: 'no such thing', metadata: md }, null);
    return;
  }
  if (text === 'hang') {
    call.on('cancelled', () => {
      seen.cancelled++;
      cb({ code: status.CANCELLED, details: 'gone' }, null);
    });
    return;
  }
  if (text === 'who') {
    cb(null, { text: String(call.metadata.get('x-who')[0]), forwardedBy: String(call.metadata.get(FORWARDED_HEADER)[0] ?? ''), via });
    return;
  }
  cb(null, { text, forwardedBy: String(call.metadata.get(FORWARDED_HEADER)[0] ?? ''), via });
}

async function listen(server: Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return `127.0.0.1:${port}`;
}

async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('forwarding over one long-lived stream per leader', () => {
  const shutdown = new AbortController();
  let withStream: Server;
  let unaryOnly: Server;
  let streamAddr: string;
  let unaryAddr: string;
  let forwarder: Forwarder;
  const logger = { warn: () => undefined } as unknown as Parameters<typeof serveForwardStream>[2];

  beforeAll(async () => {
    withStream = new Server();
    const targets = new ForwardTargets();
    const impl = { say: sayHandler };
    targets.record(EchoService, impl);
    withStream.addService(EchoService, impl);
    const serve = serveForwardStream(targets, shutdown.signal, logger);
    withStream.addService(ForwardStreamService, { calls: (call: Parameters<typeof serve>[0]) => { seen.streamsOpened++; serve(call); } });
    streamAddr = await listen(withStream);
    unaryOnly = new Server();
    unaryOnly.addService(EchoService, { say: sayHandler });
    unaryAddr = await listen(unaryOnly);
    forwarder = new Forwarder(7, new StaticResolver(new Map([[1, streamAddr], [2, unaryAddr]])));
  });

  afterAll(() => {
    forwarder?.close();
    withStream?.forceShutdown();
    unaryOnly?.forceShutdown();
  });

  const say = (addr: string, text: string, signal = AbortSignal.timeout(10_000), deadlineMs = Date.now() + 10_000): Promise<Said> => forwarder.callStreamed(addr, SAY, { text }, deadlineMs, signal);

  it('carries many concurrent calls on one stream, each through the method\'s own handler, marked forwarded', async () => {
    const before = seen.streamsOpened;
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => say(streamAddr, `m${i}`)));
    expect(answers.map((a) => a.text)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    for (const a of answers) expect(a).toMatchObject({ forwardedBy: '7', via: 'stream' });
    expect(seen.streamsOpened - before).toBeLessThanOrEqual(1);
    await say(streamAddr, 'again');
    expect(seen.streamsOpened - before).toBeLessThanOrEqual(1);
  });

  it('carries per-call metadata to the leader\'s handler, and the stream\'s mark over any forged one', async () => {
    const md = new Metadata();
    md.set('x-who', 'alice');
    md.set(FORWARDED_HEADER, '99');
    const said = await forwarder.callStreamed(streamAddr, SAY, { text: 'who' }, Date.now() + 10_000, AbortSignal.timeout(10_000), md);
    expect(said).toMatchObject({ text: 'alice', forwardedBy: '7', via: 'stream' });
  });

  it('passes the leader\'s error back with its code, details and metadata', async () => {
    const err = (await say(streamAddr, 'fail').catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('no such thing');
    expect(err.metadata.get('raftkv-error-code')).toEqual(['NOT_FOUND']);
  });

  it('a caller that gives up cancels the call on the leader; the stream keeps serving', async () => {
    const ac = new AbortController();
    const before = seen.cancelled;
    const p = say(streamAddr, 'hang', ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    expect(((await p.catch((e: unknown) => e)) as ServiceError).code).toBe(status.CANCELLED);
    await waitUntil(() => seen.cancelled > before, 5000, 'the leader to see the cancel');
    expect((await say(streamAddr, 'after')).text).toBe('after');
  });

  it('a passed deadline fails the call with DEADLINE_EXCEEDED', async () => {
    const err = (await say(streamAddr, 'hang', AbortSignal.timeout(10_000), Date.now() + 100).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('falls back to unary calls to a leader without the stream (an older version)', async () => {
    const answers = await Promise.all([say(unaryAddr, 'a'), say(unaryAddr, 'b')]);
    expect(answers).toEqual([{ text: 'a', forwardedBy: '7', via: 'unary' }, { text: 'b', forwardedBy: '7', via: 'unary' }]);
    expect(await say(unaryAddr, 'c')).toMatchObject({ via: 'unary' });
  });

  it('refuses a stream without the forwarded mark, and closes one that sends a bad frame', async () => {
    const client = new Client(streamAddr, credentials.createInsecure());
    try {
      const open = (md: Metadata): Promise<ServiceError> => new Promise((resolve) => {
        const s = client.makeBidiStreamRequest(FORWARD_STREAM_PATH, (b: Buffer) => b, (b: Buffer) => b, md, {});
        s.on('error', resolve);
        s.on('data', () => undefined);
        s.write(Buffer.from([9, 9, 9]));
      });
      expect((await open(new Metadata())).code).toBe(status.PERMISSION_DENIED);
      const marked = new Metadata();
      marked.set(FORWARDED_HEADER, '9');
      expect((await open(marked)).code).toBe(status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });
});

describe('the forwarding stream at leader shutdown', () => {
  it('answers the calls in flight, then ends the stream with a retryable NO_LEADER for anything sent after', async () => {
    const shutdown = new AbortController();
    const server = new Server();
    const targets = new ForwardTargets();
    const release: (() => void)[] = [];
    const impl = {
      say: (call: ServerUnaryCall<Say, Said>, cb: sendUnaryData<Said>): void => {
        release.push(() => cb(null, { text: call.request.text, forwardedBy: '', via: 'stream' }));
      },
    };
    targets.record(EchoService, impl);
    server.addService(EchoService, impl);
    server.addService(ForwardStreamService, { calls: serveForwardStream(targets, shutdown.signal, { warn: () => undefined } as unknown as Parameters<typeof serveForwardStream>[2]) });
    const addr = await listen(server);
    const forwarder = new Forwarder(7, new StaticResolver(new Map([[1, addr]])));
    try {
      const call = (text: string): Promise<Said> => forwarder.callStreamed(addr, SAY, { text }, Date.now() + 10_000, AbortSignal.timeout(10_000));
      const inflight = call('before');
      await waitUntil(() => release.length === 1, 5000, 'the call to reach the handler');
      shutdown.abort();
      const late = call('after').catch((e: unknown) => e as ServiceError);
      await new Promise((r) => setTimeout(r, 50));
      for (const r of release) r();
      expect((await inflight).text).toBe('before');
      const err = await late;
      expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
      expect((err as ServiceError).metadata.get('raftkv-error-code')).toEqual(['NO_LEADER']);
      expect(release).toHaveLength(1); // the late call never ran
    } finally {
      forwarder.close();
      server.forceShutdown();
    }
  });
});

describe('forwarding frames', () => {
  it('round-trip every kind', () => {
    const frames = [
      { kind: FrameKind.Call, id: 1, deadlineMs: Number.POSITIVE_INFINITY, path: '/a/B', metadata: [['k', 'v'], ['x', 'ü']] as [string, string][], body: Buffer.from([1, 2, 3]) },
      { kind: FrameKind.Cancel, id: 0xffff_fffe },
      { kind: FrameKind.Ok, id: 3, body: Buffer.alloc(0) },
      { kind: FrameKind.Error, id: 4, code: 5, details: 'not found', metadata: [] as [string, string][] },
    ] as const;
    for (const f of frames) expect(decodeFrame(encodeFrame(f))).toEqual(f);
  });

  it('refuse truncated and unknown frames', () => {
    const call = encodeFrame({ kind: FrameKind.Call, id: 1, deadlineMs: 5, path: '/a/B', metadata: [], body: Buffer.alloc(0) });
    expect(() => decodeFrame(call.subarray(0, 10))).toThrow(BadFrameError);
    expect(() => decodeFrame(Buffer.from([42, 0, 0, 0, 1]))).toThrow(BadFrameError);
    expect(() => decodeFrame(Buffer.alloc(0))).toThrow(BadFrameError);
  });
});
