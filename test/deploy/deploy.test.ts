/**
 * What can be tested here of docs/deploy.md without systemd or a Docker engine: the unit's command
 * line (with the example environment file expanded as systemd would) is a valid `raftkv serve`
 * configuration, and the image's entry point runs the built CLI, whose documented `docker run`
 * arguments are valid too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServeConfig } from '../../src/cli/serve.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

/** KEY=VALUE lines of an EnvironmentFile (comments and blanks skipped). */
function envFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  return env;
}

/** The unit's ExecStart with ${VAR} expanded from `env`, split on spaces (the unit quotes nothing). */
function execStart(unit: string, env: Map<string, string>): string[] {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('no ExecStart in the unit');
  const expanded = line.slice('ExecStart='.length).replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const v = env.get(name);
    if (v === undefined) throw new Error(`the unit uses \${${name}}, which raftkv.env does not set`);
    return v;
  });
  return expanded.split(/\s+/).filter((w) => w !== '');
}

describe('deploy/raftkv.service', () => {
  const unit = read('deploy/raftkv.service');
  const argv = execStart(unit, envFile(read('deploy/raftkv.env')));

  it('runs `raftkv serve` with a configuration serve accepts: gossip, TLS on every port, mTLS between members', () => {
    expect(argv.slice(0, 3)).toEqual(['/usr/bin/env', 'raftkv', 'serve']);
    const cfg = readServeConfig(argv.slice(3));
    expect(cfg.id).toBe(1);
    expect(cfg.gossipSeeds).toHaveLength(3);
    expect(cfg.bootstrapExpect).toBe(3);
    expect(cfg.gossipKey).not.toBeNull();
    expect(cfg.tls?.client?.clientCertAuth).toBe(true);
    expect(cfg.tls?.peer?.clientCertAuth).toBe(true);
  });

  it('reloads certificates with SIGHUP and stops with SIGTERM, as serve handles them', () => {
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/raftkv$/m);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const json = (directive: string): string[] => {
    const line = dockerfile.split('\n').find((l) => l.startsWith(`${directive} `));
    if (!line) throw new Error(`no ${directive} in the Dockerfile`);
    return JSON.parse(line.slice(directive.length + 1)) as string[];
  };

  it('its entry point is the built CLI, which runs and answers --help', () => {
    const [file, script] = json('ENTRYPOINT');
    expect(file).toBe('node');
    expect(script).toBe('/app/dist/cli/main.js');
    const local = join(ROOT, script!.replace('/app/', ''));
    expect(existsSync(local), `${local} is missing: npm run build`).toBe(true);
    const r = spawnSync(process.execPath, [local, ...json('CMD')], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/serve/);
  });

  it('the documented `docker run` arguments are a valid serve configuration', () => {
    const comment = dockerfile.split('\n').filter((l) => l.startsWith('#   ')).map((l) => l.slice(4).replace(/\\$/, '')).join(' ');
    const args = comment.slice(comment.indexOf(' serve ') + ' serve '.length).split(/\s+/).filter((w) => w.startsWith('--'));
    const cfg = readServeConfig(args);
    expect(cfg.dataDir).toBe('/data');
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
  });

  it('copies only files the repository has, and the build context leaves out local state', () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) if (m[1] !== '.') expect(existsSync(join(ROOT, m[1]!))).toBe(true);
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['node_modules', 'dist', '.data']) expect(ignore).toContain(p);
  });
});
