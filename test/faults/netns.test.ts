/**
 * The namespace network really partitions and loses packets, leaves the harness's own path alone,
 * and cleans up after itself, even after its owner was SIGKILLed. Real namespaces, real sockets;
 * skipped (with the reason) only where namespaces cannot be made (not root, no nft).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetnsNetwork, netnsUnavailableReason } from './netns.js';

const reason = await netnsUnavailableReason();
if (reason !== null) console.log(`netns tests skipped: ${reason}`);

const ECHO_PORT = 7100;
const CONNECT_TIMEOUT_MS = 700;
const children = new Set<ChildProcess>();

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

/** An echo server inside node `id`'s namespace; resolves once it listens. */
async function startEcho(net: NetnsNetwork, id: number): Promise<void> {
  const script = `require('node:net').createServer((s) => s.pipe(s)).listen(${ECHO_PORT}, '${net.host(id)}', () => console.log('listening'))`;
  const cmd = net.command(id, process.execPath, ['-e', script]);
  const proc = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    proc.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
  });
}

/** Whether a process in node `from`'s namespace can open a connection to `host` and get an echo. */
async function reachable(net: NetnsNetwork, from: number, host: string): Promise<boolean> {
  const script = `
    const s = require('node:net').createConnection({ host: '${host}', port: ${ECHO_PORT} }, () => s.write('ping'));
    s.on('data', () => process.exit(0));
    s.on('error', () => process.exit(1));
    setTimeout(() => process.exit(2), ${CONNECT_TIMEOUT_MS});`;
  const cmd = net.command(from, process.execPath, ['-e', script]);
  const proc = spawn(cmd.file, cmd.args, { stdio: 'ignore' });
  children.add(proc);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return code === 0;
}

/** Whether this (root-namespace) process reaches the echo server: the harness's path. */
function harnessReaches(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port: ECHO_PORT }, () => s.write('ping'));
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), CONNECT_TIMEOUT_MS);
    s.on('data', () => done(true));
    s.on('error', () => done(false));
  });
}

describe.skipIf(reason !== null)('network namespace fault network', () => {
  let net: NetnsNetwork | null = null;
  afterEach(async () => {
    for (const c of children) c.kill('SIGKILL');
    children.clear();
    await net?.close();
    net = null;
  });

  it('cuts one direction, drops every packet at 100% loss, keeps the harness path, and heals', async () => {
    net = await NetnsNetwork.create([1, 2]);
    await startEcho(net, 2);
    const to2 = net.host(2);
    expect(await reachable(net, 1, to2)).toBe(true);
    expect(await harnessReaches(to2)).toBe(true);

    await net.cut(1, 2);
    expect(await reachable(net, 1, to2)).toBe(false);
    expect(await harnessReaches(to2)).toBe(true);
    await net.heal();
    expect(await reachable(net, 1, to2)).toBe(true);

    // A cut of the other direction also breaks 1 -> 2 connections: the replies are dropped.
    await net.cut(2, 1);
    expect(await reachable(net, 1, to2)).toBe(false);
    await net.heal();

    await net.degrade({ lossRate: 1, delayMs: 0, jitterMs: 0 });
    expect(await reachable(net, 1, to2)).toBe(false);
    expect(await harnessReaches(to2)).toBe(true);
    await net.heal();
    expect(await reachable(net, 1, to2)).toBe(true);
    expect(net.stats()['droppedPackets']).toBeGreaterThan(0);
  }, 30_000);

  it('removes its namespaces on close', async () => {
    net = await NetnsNetwork.create([1, 2, 3]);
    const prefix = `rkv${net.slot}-`;
    expect(namespaces().filter((n) => n.startsWith(prefix)).length).toBe(4);
    await net.close();
    net = null;
    expect(namespaces().filter((n) => n.startsWith(prefix))).toEqual([]);
  }, 30_000);

  it('reclaims the slot of an owner that was SIGKILLed', async () => {
    const slot = 200 + (process.pid % 40);
    const script = `
      const { NetnsNetwork } = await import(${JSON.stringify(new URL('./netns.ts', import.meta.url).href)});
      const n = await NetnsNetwork.create([1, 2], ${slot});
      console.log('slot ' + n.slot);
      setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(owner);
    const claimed = await new Promise<number>((resolve, reject) => {
      owner.stdout!.on('data', (d: Buffer) => {
        const m = /slot (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      owner.once('exit', (code) => reject(new Error(`owner exited ${code} before creating its network`)));
    });
    const exited = new Promise((resolve) => owner.once('exit', resolve));
    owner.kill('SIGKILL');
    await exited;
    // The dead owner's namespaces are still there: no exit hook ran.
    expect(namespaces()).toContain(`rkv${claimed}-n1`);
    net = await NetnsNetwork.create([1], claimed);
    expect(net.slot).toBe(claimed);
    expect(namespaces()).not.toContain(`rkv${claimed}-n2`);
  }, 30_000);
});
