/**
 * The cluster page in a real browser: a 3-node `raftkv serve` cluster (gossip, --bootstrap_expect=3;
 * nodes 1 and 2 serve the page on their metrics listener, node 3 on its own), Debian's chromium
 * opens a follower's page, sees three members and the leader, browses keys, then the leader is
 * killed and the page shows the new leader without a reload. Screenshots go to test-artifacts/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { GossipCluster } from '../gossip-membership/gossip-cluster.js';
import { freePort } from '../support/free-port.js';
import { findChromium, launchChromium, type Browser } from './browser.js';

/** The browser's document, as far as the functions below use it: they run in chromium, not in Node. */
interface El { readonly textContent: string | null; getAttribute(name: string): string | null }
declare const document: { querySelectorAll(s: string): ArrayLike<El> & Iterable<El>; querySelector(s: string): El | null; getElementById(id: string): El | null };

const IDS = [1, 2, 3];
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn('test/ui/cluster-page.test.ts: SKIPPED — no chromium found (install it: apt-get install -y chromium, or set CHROMIUM_PATH)');

let cluster: GossipCluster | null = null;
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  await cluster?.stop(); // SIGKILLs every node it spawned and removes the data directory
});

interface ApiState { view: { node: { id: number; leaderId: number; role: string }; members: Array<{ id: number | null; suffrage: string | null }> } | null }

async function apiState(httpAddr: string): Promise<ApiState> {
  const res = await fetch(`http://${httpAddr}/api/state`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`GET /api/state: ${res.status}`);
  return (await res.json()) as ApiState;
}

/** The leader every given node names, once they all agree and see `voters` voters; else null. */
async function agreedLeader(addrs: string[], voters: number): Promise<number | null> {
  const states = await Promise.all(addrs.map(apiState));
  const leaders = new Set(states.map((s) => s.view?.node.leaderId ?? 0));
  const ok = states.every((s) => s.view?.members.filter((m) => m.suffrage === 'voter').length === voters);
  const [only] = [...leaders];
  return ok && leaders.size === 1 && only !== undefined && only !== 0 ? only : null;
}

async function memberRows(page: Page): Promise<Array<{ id: string; role: string; health: string }>> {
  return page.$$eval('#members tbody tr[data-member-id]', (rows) => rows.map((r) => ({ id: r.getAttribute('data-member-id') ?? '', role: r.getAttribute('data-role') ?? '', health: r.getAttribute('data-health') ?? '' })));
}

describe.skipIf(!CHROMIUM)('cluster page in chromium (3 nodes)', () => {
  it('shows three members and the leader, browses keys, and follows a leader change live', async () => {
    const c = await GossipCluster.create(3);
    cluster = c;
    const http = new Map<number, string>();
    for (const id of IDS) http.set(id, `127.0.0.1:${await freePort()}`);
    await Promise.all(IDS.map((id) => c.spawn(id, [
      '--bootstrap_expect=3', `--http_addr=${http.get(id)}`, ...(id === 3 ? [] : [`--metrics_addr=${http.get(id)}`]),
    ])));
    let leader: number | null = null;
    await c.waitFor(async () => (leader = await agreedLeader([...http.values()], 3)) !== null, 30_000, 'every node to name one leader and see 3 voters');
    const oldLeader = leader!;
    const viewer = IDS.find((id) => id !== oldLeader)!;
    // Through the follower whose page is opened: its calls (forwarded to the leader) feed both nodes' charts.
    for (let i = 0; i < 12; i++) await c.node(viewer).client.put(`ui/key-${String(i).padStart(2, '0')}`, `value ${i}`, { timeoutMs: 5000 });
    browser = await launchChromium(CHROMIUM!);
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://${http.get(viewer)}/`, { waitUntil: 'load' });

    // Three members, the leader named in the summary and marked in the table.
    await page.waitForFunction((l) => document.querySelectorAll('#members tbody tr[data-member-id]').length === 3 && document.getElementById('leader-id')?.textContent === `node ${l}`, oldLeader, { timeout: 15_000 });
    const rows = await memberRows(page);
    expect(rows.map((r) => r.id).sort()).toEqual(['1', '2', '3']);
    expect(rows.filter((r) => r.role === 'leader').map((r) => r.id)).toEqual([String(oldLeader)]);
    expect(await page.textContent('#viewer')).toBe(`node ${viewer}`);
    // A follower's page shows replication progress by asking the leader's page.
    await page.waitForFunction(() => /reported by the leader/.test(document.getElementById('progress-note')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#members tbody tr[data-member-id] td:nth-child(9)')].every((td) => /^\d[\d,]*$/.test(td.textContent ?? '')), undefined, { timeout: 10_000 });

    // The key browser pages through the 12 keys, 10 at a time.
    await page.fill('#keys-prefix', 'ui/');
    await page.selectOption('#keys-limit', '10');
    await page.click('#keys-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#keys tbody tr:not(.empty)').length === 10, undefined, { timeout: 10_000 });
    expect(await page.textContent('#keys tbody tr:first-child td:first-child')).toBe('ui/key-00');
    expect(await page.textContent('#keys-status')).toMatch(/^1–10 of 12 keys/);
    await page.click('#keys-next');
    await page.waitForFunction(() => document.querySelectorAll('#keys tbody tr:not(.empty)').length === 2, undefined, { timeout: 10_000 });
    expect(await page.textContent('#keys tbody tr:first-child td:first-child')).toBe('ui/key-10');
    expect(await page.textContent('#keys-status')).toMatch(/^11–12 of 12 keys/);

    // The charts have this node's and the leader's request rates (a follower asks the leader's page).
    await c.waitFor(async () => {
      const s = (await apiState(http.get(viewer)!)) as ApiState & { rates: Array<{ requestsPerSec: number | null }>; leaderRates: Array<{ requestsPerSec: number | null }> | null };
      return s.rates.some((p) => (p.requestsPerSec ?? 0) > 0) && (s.leaderRates ?? []).some((p) => (p.requestsPerSec ?? 0) > 0);
    }, 10_000, 'request rates on the follower and, through it, on the leader');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-page.png'), fullPage: true });

    // Kill the leader: the page, still open on the follower, shows the new one without a reload.
    await c.kill(oldLeader, 'SIGKILL');
    const survivors = IDS.filter((id) => id !== oldLeader);
    await page.waitForFunction((old) => {
      const text = document.getElementById('leader-id')?.textContent ?? '';
      return /^node \d+$/.test(text) && text !== `node ${old}`;
    }, oldLeader, { timeout: 30_000 });
    const shown = Number((await page.textContent('#leader-id'))!.replace('node ', ''));
    expect(survivors).toContain(shown);
    // What the page shows is what the surviving nodes say.
    await c.waitFor(async () => (await agreedLeader(survivors.map((id) => http.get(id)!), (await apiState(http.get(viewer)!)).view!.members.filter((m) => m.suffrage === 'voter').length)) === shown, 15_000, 'the survivors to agree on the leader the page shows');
    await page.waitForFunction((l) => document.querySelector(`#members tr[data-member-id="${l}"]`)?.getAttribute('data-role') === 'leader', shown, { timeout: 10_000 });
    // The killed node is no longer shown as healthy, and the events list has the leader change.
    await page.waitForFunction((old) => {
      const row = document.querySelector(`#members tr[data-member-id="${old}"]`);
      return row === null || row.getAttribute('data-health') !== 'healthy';
    }, oldLeader, { timeout: 15_000 });
    await page.waitForFunction((l) => [...document.querySelectorAll('#events li[data-kind="leader"]')].some((li) => li.textContent?.includes(`node ${l} is leader`)), shown, { timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-page-after-leader-kill.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
