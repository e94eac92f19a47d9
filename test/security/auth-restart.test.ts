/**
 * The auth state is replicated state: it survives a SIGKILL and restart of a member whose log was
 * compacted behind a snapshot (so it comes back from the state machine's own db, not from replay).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';

const HAVE_ETCDCTL = spawnSync('etcdctl', ['version'], { stdio: 'ignore' }).status === 0;
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

function ctl(ep: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('etcdctl', [`--endpoints=${ep}`, '--dial-timeout=3s', '--command-timeout=8s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 15_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }));
  });
}

describe.skipIf(!HAVE_ETCDCTL)('auth across a restart', () => {
  let proc: ChildProcess | null = null;
  let dir = '';

  const start = async (grpc: string, raft: string, first: boolean): Promise<void> => {
    const args = ['--import', 'tsx', MAIN, 'serve', '--raft_id=1', `--raft_addr=${raft}`, `--grpc_addr=${grpc}`, `--raft_data_dir=${dir}`,
      '--tick_ms=20', '--snapshot_entries=4', '--trailing_logs=0', '--log_level=warn', ...(first ? ['--raft_bootstrap'] : [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"event":"ready"')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (p === null || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };

  afterAll(async () => {
    await kill();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('keeps users, roles, permissions and the on switch after SIGKILL and restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-auth-restart-'));
    const grpc = `127.0.0.1:${await freePort()}`;
    const raft = `127.0.0.1:${await freePort()}`;
    await start(grpc, raft, true);
    const ok = async (args: string[]): Promise<string> => {
      const r = await ctl(grpc, args);
      if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const R = ['--user', 'root:rootpw'];
    const A = ['--user', 'alice:alicepw'];
    await ok(['user', 'add', 'root:rootpw']);
    await ok(['auth', 'enable']);
    await ok([...R, 'user', 'add', 'alice:alicepw']);
    await ok([...R, 'role', 'add', 'app']);
    await ok([...R, 'role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix']);
    await ok([...R, 'user', 'grant-role', 'alice', 'app']);
    for (let i = 0; i < 10; i++) await ok([...A, 'put', `app/${i}`, 'v']); // several snapshots, log compacted
    await kill();
    await start(grpc, raft, false);
    expect(await ok([...A, 'get', 'app/9', '--print-value-only'])).toBe('v\n');
    expect((await ctl(grpc, [...A, 'put', 'other', 'v'])).stderr).toContain('etcdserver: permission denied');
    expect((await ctl(grpc, ['get', 'app/9'])).stderr).toContain('etcdserver: user name is empty');
    expect(await ok([...R, 'role', 'get', 'app'])).toContain('[app/, app0) (prefix app/)');
  }, 90_000);
});
