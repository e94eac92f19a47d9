/**
 * The package as a user gets it: `npm pack` (which runs `prepare`, the build), the tarball installed
 * into a fresh project with npm, the `raftkv` bin run from there, and the client imported by name
 * from a Node script and type-checked from a TypeScript one. The registry is not used: the
 * tarball's dependencies are linked from this repository's node_modules (npm --offline).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const NPM_TIMEOUT_MS = 180_000;
let dir = '';
let project = '';
let files: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raftkv-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: NPM_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  // npm prints the build's output before the JSON report.
  const report = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as [{ filename: string; files: { path: string }[] }];
  files = report[0].files.map((f) => f.path);
  project = join(dir, 'project');
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const deps: Record<string, string> = { raftkv: `file:${join(dir, report[0].filename)}` };
  for (const d of Object.keys(pkg.dependencies)) deps[d] = `file:${join(ROOT, 'node_modules', d)}`;
  await run('mkdir', ['-p', project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'raftkv-user', version: '1.0.0', private: true, type: 'module', dependencies: deps }));
  // --ignore-scripts: the linked dependencies are this repository's installed copies; nothing may rebuild them.
  await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, timeout: NPM_TIMEOUT_MS });
}, 2 * NPM_TIMEOUT_MS);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('npm pack, then npm install of the tarball', () => {
  it('the tarball holds the build, the license and the docs, and no sources or tests', () => {
    for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/cli/main.js', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/gen/raftkv.binpb', 'dist/ui/assets/index.html', 'deploy/raftkv.service']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|scripts)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('the raftkv bin runs and lists its commands', async () => {
    const { stdout } = await run(join(project, 'node_modules/.bin/raftkv'), ['--help'], { cwd: project });
    expect(stdout).toMatch(/^ {2}serve +run a node/m);
    expect(stdout).toMatch(/^ {2}get +print the value of KEY/m);
    const get = await run(join(project, 'node_modules/.bin/raftkv'), ['get', '--help'], { cwd: project });
    expect(get.stdout).toMatch(/^Usage: raftkv get KEY/);
  });

  it('a Node script imports the client as raftkv and raftkv/client', async () => {
    await writeFile(join(project, 'use.mjs'), [
      "import { RaftkvClient, Limits } from 'raftkv';",
      "import * as sub from 'raftkv/client';",
      "const c = new RaftkvClient({ endpoints: ['127.0.0.1:1'], defaultTimeoutMs: 200 });",
      "const e = await c.get('k').catch((err) => err);",
      'c.close();',
      'console.log(JSON.stringify({ same: sub.RaftkvClient === RaftkvClient, valueBytesMax: Limits.valueBytesMax, code: e.code }));',
    ].join('\n'));
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ same: true, valueBytesMax: 1024 * 1024, code: 'TIMEOUT' });
  });

  it('a TypeScript user gets the type declarations', async () => {
    await writeFile(join(project, 'use.ts'), [
      "import { RaftkvClient, type GetResult } from 'raftkv';",
      "const c = new RaftkvClient({ endpoints: ['127.0.0.1:1'] });",
      "export const value: Promise<GetResult> = c.get('k');",
      '// @ts-expect-error: put needs a value',
      "void c.put('k');",
    ].join('\n'));
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
        types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: ['use.ts'],
    }));
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project });
  });

  // `npm install -g` of the tarball as on a clean machine: its dependencies come from the npm
  // registry (only skipped when the registry cannot be reached at all), and the installed bin runs a
  // node and talks to it.
  it('npm install -g of the tarball gives a working raftkv bin: serve, put, get', async (ctx) => {
    const reachable = await run('npm', ['ping'], { timeout: 20_000 }).then(() => true, () => false);
    if (!reachable) ctx.skip('the npm registry is not reachable: npm install -g cannot fetch the dependencies');
    const prefix = join(dir, 'global');
    const tarball = (await run('ls', [dir])).stdout.split('\n').find((f) => f.endsWith('.tgz'))!;
    await run('npm', ['install', '-g', '--prefix', prefix, join(dir, tarball), '--no-audit', '--no-fund'], { timeout: NPM_TIMEOUT_MS });
    const bin = join(prefix, 'bin/raftkv');
    const [raftPort, grpcPort] = [await freePort(), await freePort()];
    const node = spawn(bin, ['serve', '--raft_id=1', `--raft_addr=127.0.0.1:${raftPort}`, `--grpc_addr=127.0.0.1:${grpcPort}`, `--raft_data_dir=${join(dir, 'data')}`, '--raft_bootstrap', '--log_level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        node.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"event":"ready"')) resolve();
        });
        node.once('exit', (code) => reject(new Error(`the installed raftkv serve exited with ${code}`)));
      });
      const ep = ['--endpoints', `127.0.0.1:${grpcPort}`, '--timeout_ms', '10000'];
      await run(bin, ['put', ...ep, 'greeting', 'hello']);
      expect((await run(bin, ['get', ...ep, 'greeting'])).stdout.trim()).toBe('hello');
    } finally {
      node.kill('SIGKILL');
    }
  }, 2 * NPM_TIMEOUT_MS);
});
