import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClientCommand, type ClientIo } from '../../src/cli/client-commands.js';
import { parseArgs } from '../../src/cli/client-args.js';
import { startScriptedServer, type ScriptedServer } from './scripted-server.js';

function capture(): ClientIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const io = capture();
  const code = await runClientCommand(argv, io, env);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('argv parsing', () => {
  it('accepts --flag value, --flag=value and booleans; -- ends flags', () => {
    const known = new Map([['limit', 'int' as const], ['json', 'bool' as const], ['endpoints', 'string' as const]]);
    const p = parseArgs(['a', '--limit', '5', '--endpoints=h:1', '--json', '--', '--not-a-flag'], known);
    expect(p.positionals).toEqual(['a', '--not-a-flag']);
    expect([...p.flags]).toEqual([['limit', '5'], ['endpoints', 'h:1'], ['json', true]]);
  });

  it.each([
    [['frobnicate'], /unknown command/],
    [['put', 'k'], /usage: raftkv put KEY VALUE/],
    [['put', 'k', 'v', 'extra'], /usage: raftkv put/],
    [['get', 'k', '--bogus'], /unknown flag --bogus/],
    [['get', 'k', '--timeout_ms'], /needs a value/],
    [['get', 'k', '--timeout_ms', 'soon'], /non-negative integer/],
    [['get', 'k', '--timeout_ms', '0'], /must be positive/],
    [['get', 'k', '--json=yes'], /takes no value/],
    [['get', 'k', '--stale', '--linearizable'], /exclude each other/],
    [['range', 'p', '--limit', '-1'], /non-negative integer/],
    [['cas', 'k', 'new'], /usage: cas KEY EXPECTED NEW/],
    [['cas', 'k', 'a', 'b', '--absent'], /usage: cas KEY --absent NEW/],
    [['remove', 'x'], /ID must be a positive integer/],
    [['transfer-leader', '0'], /ID must be a positive integer/],
    [['status', '--endpoints', 'nohost'], /bad endpoint/],
    [['members', 'extra'], /usage: raftkv members/],
  ])('%j is a usage error (exit 2, one line)', async (argv, message) => {
    const r = await run(argv, { RAFTKV_ENDPOINTS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stdout).toEqual([]);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(message);
  });

  it('--help lists every command', async () => {
    for (const argv of [['--help'], [], ['get', '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      const text = r.stdout.join('\n');
      for (const c of ['put', 'get', 'del', 'range', 'cas', 'watch', 'members', 'status', 'add-voter', 'add-nonvoter', 'remove', 'transfer-leader', 'snapshot']) {
        expect(text).toContain(`  ${c}`);
      }
    }
  });
});

describe('commands against a real gRPC server', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('put prints OK with the revision; get prints the value (linearizable by default, --stale on request)', async () => {
    const put = await run(['put', 'k', 'hello', '--endpoints', server.address]);
    expect(put).toMatchObject({ code: 0, stdout: ['OK (revision 1)'] });
    expect(server.puts[0]?.value.toString()).toBe('hello');
    expect(await run(['get', 'k', '--endpoints', server.address])).toMatchObject({ code: 0, stdout: ['v'] });
    await run(['get', 'k', '--stale', '--endpoints', server.address]);
    expect(server.gets.map((g) => g.consistency)).toEqual([1, 2]);
  });

  it('--json prints machine-readable output; endpoints may come from RAFTKV_ENDPOINTS', async () => {
    const r = await run(['get', 'k', '--json'], { RAFTKV_ENDPOINTS: server.address });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout[0] as string)).toMatchObject({ revision: 7, kv: { key: 'k', value: 'v', version: 1 } });
  });

  it('a server error prints CODE: message and exits 1', async () => {
    server.failures = [{ code: status.INVALID_ARGUMENT, raftkvCode: 'INVALID_ARGUMENT' }];
    const r = await run(['put', 'k', 'v', '--endpoints', server.address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual(['INVALID_ARGUMENT: scripted INVALID_ARGUMENT']);
  });
});
