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
    [['get', 'k', '--rev', '3'], /^raftkv: unknown flag --rev for raftkv get \(raftkv help get lists its flags\)$/],
    [['help', 'frobnicate'], /unknown command "frobnicate"/],
    [['put', 'k', 'v', '--lease', 'xyz'], /lease ID must be a hexadecimal id/],
    [['put', 'k', 'v', '--lease', '0'], /lease ID must be a hexadecimal id/],
    [['lease'], /usage: raftkv lease/],
    [['lease', 'renew', '1'], /lease: want grant, revoke, timetolive, list, keep-alive/],
    [['lease', 'grant'], /usage: raftkv lease grant TTL/],
    [['lease', 'grant', '0'], /at least 1 second/],
    [['lease', 'list', 'extra'], /usage: raftkv lease list$/],
    [['lease', 'revoke', '1', '--keys'], /--keys goes with lease timetolive/],
    [['compact'], /usage: raftkv compact/],
    [['compact', '0'], /REV must be a positive integer/],
    [['watch', 'k', '--rev', '2', '--from', '2'], /--rev and --from are the same flag/],
    [['elect', 'e'], /usage: raftkv elect NAME PROPOSAL/],
    [['elect', 'e', 'p', '--listen'], /usage: raftkv elect NAME PROPOSAL/],
    [['lock'], /usage: raftkv lock NAME/],
    [['lock', 'l', '--ttl', '0'], /--ttl must be at least 1 second/],
  ])('%j is a usage error (exit 2, one line)', async (argv, message) => {
    const r = await run(argv, { RAFTKV_ENDPOINTS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stdout).toEqual([]);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(message);
  });

  const ALL_COMMANDS = [
    'put', 'get', 'del', 'range', 'cas', 'watch', 'members', 'status', 'add-voter', 'add-nonvoter', 'remove', 'transfer-leader', 'snapshot',
    'compact', 'lease', 'lock', 'elect', 'keyring',
  ];

  it('--help lists every command, one line each', async () => {
    for (const argv of [['--help'], [], ['help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      const lines = r.stdout.join('\n').split('\n');
      for (const c of ['serve', ...ALL_COMMANDS]) {
        expect(lines.filter((l) => new RegExp(`^  ${c} +\\S`).test(l)), c).toHaveLength(1);
      }
    }
  });

  it('<command> --help shows that command only, with its flags and an example', async () => {
    for (const c of ALL_COMMANDS) {
      for (const argv of [[c, '--help'], [c, '-h'], ['help', c]]) {
        const r = await run(argv);
        expect(r.code).toBe(0);
        const text = r.stdout.join('\n');
        expect(text).toMatch(new RegExp(`^Usage: raftkv ${c} `));
        expect(text).toMatch(new RegExp(`Examples:\\n  raftkv ${c}\\b`));
        for (const other of ALL_COMMANDS.filter((o) => o !== c && !o.startsWith(c) && !c.startsWith(o))) {
          expect(text, `${c} --help mentions ${other}`).not.toMatch(new RegExp(`raftkv ${other}\\b`));
        }
      }
    }
    expect((await run(['range', '--help'])).stdout.join('\n')).toContain('--keys_only');
  });

  it.each([
    [['get', 'k', '--write-out', 'yaml'], /--write-out must be one of simple, json, table/],
    [['get', 'k', '-w', 'table', '--json'], /exclude each other/],
    [['put', 'k'], /usage: raftkv put KEY \(VALUE \| --file PATH \| -\)/],
    [['put', 'k', 'v', '--file', '/etc/hostname'], /either inline, with --file or as -/],
    [['put', 'k', '--file', '/nonexistent/raftkv-value'], /cannot read --file/],
  ])('%j is a usage error', async (argv, message) => {
    const r = await run(argv, { RAFTKV_ENDPOINTS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.stderr.join('\n')).toMatch(message);
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
    expect(server.gets.map((g) => g.serializable)).toEqual([false, true]);
  });

  it('--json prints machine-readable output; endpoints may come from RAFTKV_ENDPOINTS', async () => {
    for (const flags of [['--json'], ['--write-out', 'json'], ['-w', 'json'], ['--write-out=json']]) {
      const r = await run(['get', 'k', ...flags], { RAFTKV_ENDPOINTS: server.address });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout[0] as string)).toMatchObject({ revision: 7, kv: { key: 'k', value: 'v', version: 1 } });
    }
  });

  it('-w table prints a header row and aligned columns', async () => {
    const r = await run(['get', 'k', '-w', 'table'], { RAFTKV_ENDPOINTS: server.address });
    expect(r.code).toBe(0);
    const [header, row] = (r.stdout[0] as string).split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['KEY', 'VALUE', 'CREATE REV', 'MOD REV', 'VERSION']);
    expect(row?.split(/\s+/).slice(0, 2)).toEqual(['k', 'v']);
  });

  it('put takes its value from a file or from stdin (-), beyond what argv can carry', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { Readable } = await import('node:stream');
    const dir = await mkdtemp(`${(await import('node:os')).tmpdir()}/raftkv-cli-`);
    try {
      const big = Buffer.alloc(300 * 1024, 'x');
      await writeFile(`${dir}/v`, big);
      server.puts.length = 0;
      expect((await run(['put', 'k', '--file', `${dir}/v`, '--endpoints', server.address])).code).toBe(0);
      const io = { ...capture(), stdin: Readable.from([Buffer.from('from '), Buffer.from('stdin')]) };
      expect(await runClientCommand(['put', 'k2', '-', '--endpoints', server.address], io, {})).toBe(0);
      expect(server.puts.map((p) => p.value.length)).toEqual([big.length, 10]);
      expect(server.puts[1]?.value.toString()).toBe('from stdin');
      // Over the value limit: refused before anything is sent, naming the limit.
      await writeFile(`${dir}/huge`, Buffer.alloc(2 * 1024 * 1024));
      const huge = await run(['put', 'k', '--file', `${dir}/huge`, '--endpoints', server.address]);
      expect(huge.code).toBe(2);
      expect(huge.stderr.join('\n')).toMatch(/over 1048576 bytes.*valueBytesMax/);
      expect(server.puts).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unreachable endpoint says what to do next, without an empty "Resolution note"', async () => {
    const r = await run(['get', 'k', '--endpoints', '127.0.0.1:1', '--timeout_ms', '1500']);
    expect(r.code).toBe(1);
    const text = r.stderr.join('\n');
    expect(text).toMatch(/^(UNAVAILABLE|TIMEOUT): /);
    expect(text).not.toMatch(/Resolution note:\s*($|\))/m);
    expect(text).toMatch(/\nhint: no member answered at 127\.0\.0\.1:1/);
  });

  it('a server error prints CODE: message and exits 1', async () => {
    server.failures = [{ code: status.INVALID_ARGUMENT, raftkvCode: 'INVALID_ARGUMENT' }];
    const r = await run(['put', 'k', 'v', '--endpoints', server.address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual(['INVALID_ARGUMENT: scripted INVALID_ARGUMENT']);
  });
});
