import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertType } from '../src/alerts/alert.js';
import { Engine } from '../src/app/engine.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { InProcessSource } from '../src/edges/in-process.js';
import { demoFeed } from '../src/edges/demo/demo-feed.js';
import { testConfig } from './support/engine-harness.js';

/**
 * The dashboard end to end: a real engine on the demo shop, the real ops server on a free
 * port, the real page in Debian's headless Chromium. Everything is waited for (never timed).
 */

const TOKEN = 'wall-screen-test-token-0123456789';
const FILTER_TYPE: AlertType = 'cart.abandoned';
const ARTIFACTS = 'test-artifacts';

const config = testConfig({
  // A year of history at this rate lasts minutes: the feed is still replaying (busy) when the tests end.
  demo: { customers: 2000, products: 300, historyDays: 365, eventsPerSecond: 3000 },
  // A small ring, so alerts age out while a screen is away (the gap test).
  server: {
    port: 0,
    tokens: [{ name: 'wall', token: TOKEN, scopes: ['stream', 'kpi:read'], maxConnections: 8 }],
    ringCapacity: 500,
    logLevel: 'silent',
  },
});

let engine: Engine;
let ops: OpsServer;
let source: InProcessSource;
let running: Promise<void>;
let browser: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  engine = new Engine(config);
  ops = await startOpsServer({ config, engine });
  const feed = demoFeed(config.demo, Date.now());
  source = new InProcessSource(feed.messages, {
    name: 'demo',
    batchSize: config.pipeline.liveBatchSize,
    finite: false,
    messagesPerSecond: config.demo.eventsPerSecond,
  });
  running = engine.run(source, { sinks: [ops.sink] });
  ({ context: browser, userDataDir } = await launchChromium(['--disable-quic']));
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await source?.stop();
  await running;
  await ops?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

interface Row {
  seq: number;
  type: string;
  severity: string;
  score: number;
  segment: string;
  customer: string;
  reasons: string[];
}

async function rows(page: Page): Promise<Row[]> {
  // Runs in the page; the test's tsconfig has no DOM types, so only what `Element` offers is used.
  return page.locator('[data-testid="alert-row"]').evaluateAll((trs) =>
    trs.map((tr) => ({
      seq: Number(tr.getAttribute('data-seq')),
      type: tr.getAttribute('data-type') ?? '',
      severity: tr.getAttribute('data-severity') ?? '',
      score: Number(tr.querySelector('.num')?.textContent),
      segment: tr.querySelector('.segment')?.textContent ?? '',
      customer: tr.querySelector('.customer')?.textContent ?? '',
      reasons: [...tr.querySelectorAll('[data-testid="alert-reasons"] li')].map((li) => li.textContent ?? ''),
    })),
  );
}

async function number(page: Page, testid: string): Promise<number> {
  const text = (await page.textContent(`[data-testid="${testid}"]`)) ?? '';
  return Number(text.replace(/,/g, ''));
}

/** Client frames the page sends, as parsed JSON, in order. */
function recordSentFrames(page: Page): Record<string, unknown>[] {
  const sent: Record<string, unknown>[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(JSON.parse(String(f.payload)))));
  return sent;
}

async function status(page: Page, state: string): Promise<void> {
  await page.locator(`[data-testid="conn-status"][data-state="${state}"]`).waitFor({ timeout: 30_000 });
}

/** Every connection state the page shows from now on, recorded in the page (none is missed, however brief). */
async function recordStates(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(`{
    const el = document.querySelector('[data-testid="conn-status"]');
    globalThis.testStates = [];
    new MutationObserver(() => {
      if (globalThis.testStates.at(-1) !== el.dataset.state) globalThis.testStates.push(el.dataset.state);
    }).observe(el, { attributes: true, attributeFilter: ['data-state'] });
  }`);
  return () => page.evaluate('globalThis.testStates') as Promise<string[]>;
}

interface OpenPage {
  page: Page;
  /** Client frames the page sent, in order. */
  sent: Record<string, unknown>[];
  /** Uncaught errors and console errors (CSP violations and failed loads are those). */
  errors: string[];
}

/** Opens the dashboard with the test token and waits until it is connected and shows alerts. */
async function openDashboard(): Promise<OpenPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const sent = recordSentFrames(page);
  await page.goto(`${ops.url}/#token=${TOKEN}`);
  await status(page, 'connected');
  await expect.poll(async () => (await rows(page)).length, { timeout: 30_000 }).toBeGreaterThan(0);
  return { page, sent, errors };
}

describe('the live dashboard in headless Chromium', () => {
  it('shows live numbers and alerts, filters on the server, and resumes after a dropped connection', async () => {
    const { page, sent, errors } = await openDashboard();
    // The token leaves the address bar (and history) and stays for reloads in sessionStorage.
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.evaluate("sessionStorage.getItem('vigil.token')")).toBe(TOKEN);

    // Numbers move: events/s is positive and takes several different values over time.
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          const eps = await number(page, 'events-per-second');
          if (eps > 0) seen.add(eps);
          return seen.size;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(3);
    expect(await number(page, 'customers')).toBeGreaterThan(0);
    // Revenue is per minute of event time: during the catch-up some minutes have no purchase.
    await expect
      .poll(
        async () =>
          (await number(page, 'revenue-per-minute')) > 0 &&
          (await page.textContent('[data-testid="revenue-currency"]')) === 'EUR',
        { timeout: 60_000 },
      )
      .toBe(true);

    // Alerts appear, newest first, and each row shows what the server's ring holds for its seq.
    await expect.poll(async () => (await rows(page)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
    const shown = await rows(page);
    expect(shown.length).toBeLessThanOrEqual(200);
    for (let i = 1; i < shown.length; i++) expect(shown[i]!.seq).toBeLessThan(shown[i - 1]!.seq);
    const top = shown[0]!;
    const held = ops.hub.ring.after(top.seq - 1).alerts[0]!;
    expect(held.seq).toBe(top.seq);
    expect(top).toEqual({
      seq: held.seq,
      type: held.alert.type,
      severity: held.alert.severity,
      score: Number(held.alert.score.toFixed(2)),
      segment: held.alert.segment ?? '–',
      customer: held.alert.customerId,
      reasons: held.alert.reasons,
    });
    // The counts tile shows the engine's counts: some, and never more than it has emitted by now.
    const cartCount = await number(page, `alert-count-${FILTER_TYPE}`);
    expect(cartCount).toBeGreaterThan(0);
    expect(cartCount).toBeLessThanOrEqual(engine.state.alerts!.emitted[FILTER_TYPE]);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });

    // A type filter: the page unsubscribes and subscribes again with the filter and a replay.
    await page.check(`[data-testid="filter-type-${FILTER_TYPE}"]`);
    await page.click('[data-testid="filter-apply"]');
    await expect
      .poll(
        () =>
          sent.some(
            (f) => f.type === 'subscribe' && JSON.stringify(f.filter) === JSON.stringify({ types: [FILTER_TYPE] }),
          ),
        { timeout: 10_000 },
      )
      .toBe(true);
    const resubscribe = sent.findLast((f) => f.type === 'subscribe')!;
    expect(resubscribe.replay).toBeGreaterThan(0);
    expect(sent.at(-2)).toMatchObject({ type: 'unsubscribe' });
    await expect.poll(async () => (await rows(page)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    const firstFiltered = Math.max(...(await rows(page)).map((r) => r.seq));
    // …and live alerts of that type keep arriving after the replay.
    await expect
      .poll(async () => Math.max(...(await rows(page)).map((r) => r.seq)), { timeout: 30_000 })
      .toBeGreaterThan(firstFiltered);
    const filtered = await rows(page);
    expect(filtered.every((r) => r.type === FILTER_TYPE)).toBe(true);
    expect(await page.textContent('[data-testid="filter-summary"]')).toContain(FILTER_TYPE);

    // The server drops every connection: the page reconnects and resumes after what it had.
    const before = new Set((await rows(page)).map((r) => r.seq));
    const subscribesBefore = sent.filter((f) => f.type === 'subscribe').length;
    const states = await recordStates(page);
    ops.hub.closeAll(1001, 'test: going away');
    await expect.poll(states, { timeout: 30_000 }).toEqual(['reconnecting', 'connected']);
    await expect
      .poll(() => sent.filter((f) => f.type === 'subscribe').length, { timeout: 10_000 })
      .toBeGreaterThan(subscribesBefore);
    const resume = sent.findLast((f) => f.type === 'subscribe')!;
    expect(resume.since).toBeGreaterThanOrEqual(Math.max(...before));
    expect(resume.filter).toEqual({ types: [FILTER_TYPE] });
    await expect
      .poll(async () => (await rows(page)).filter((r) => !before.has(r.seq)).length, { timeout: 30_000 })
      .toBeGreaterThan(0);
    const after = await rows(page);
    expect(new Set(after.map((r) => r.seq)).size).toBe(after.length); // nothing shown twice
    expect(after.every((r) => r.type === FILTER_TYPE)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-filtered.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters by minimum severity and score, and by segment, on the server, and paces quick changes', async () => {
    const { page, sent, errors } = await openDashboard();

    await page.selectOption('[data-testid="filter-min-severity"]', 'warning');
    await page.fill('[data-testid="filter-min-score"]', '0.5');
    await page.click('[data-testid="filter-apply"]');
    await expect
      .poll(() => sent.at(-1), { timeout: 10_000 })
      .toMatchObject({ type: 'subscribe', filter: { minSeverity: 'warning', minScore: 0.5 } });
    await expect.poll(async () => (await rows(page)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    const strong = await rows(page);
    expect(strong.every((r) => (r.severity === 'warning' || r.severity === 'critical') && r.score >= 0.5)).toBe(true);

    // The segment most alerts in the server's ring carry (so the replay has some to show).
    const bySegment = new Map<string, number>();
    for (const { alert } of ops.hub.ring.after(0).alerts)
      if (alert.segment !== null) bySegment.set(alert.segment, (bySegment.get(alert.segment) ?? 0) + 1);
    const segment = [...bySegment].sort((a, b) => b[1] - a[1])[0]![0];
    await page.click('[data-testid="filter-reset"]');
    await expect
      .poll(async () => page.locator(`[data-testid="filter-segment"] option[value="${segment}"]`).count(), {
        timeout: 30_000,
      })
      .toBe(1);
    await page.selectOption('[data-testid="filter-segment"]', segment);
    await page.click('[data-testid="filter-apply"]');
    await expect
      .poll(() => sent.at(-1), { timeout: 10_000 })
      .toEqual(expect.objectContaining({ type: 'subscribe', filter: { segments: [segment] } }));
    await expect.poll(async () => (await rows(page)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect((await rows(page)).every((r) => r.segment === segment)).toBe(true);

    // Twenty clicks on Apply in one go (one task): the page coalesces them into one change,
    // inside the server's ration of client frames, and keeps its connection.
    await page.click('[data-testid="filter-reset"]');
    await expect
      .poll(() => sent.at(-1), { timeout: 10_000 })
      .toEqual({ type: 'subscribe', id: expect.any(String), replay: expect.any(Number) });
    await page.check('[data-testid="filter-type-recommendation.cross_sell"]');
    const states = await recordStates(page);
    const before = sent.length;
    await page.evaluate(`for (let i = 0; i < 20; i++) document.querySelector('[data-testid="filter-apply"]').click()`);
    await expect
      .poll(() => sent.at(-1), { timeout: 10_000 })
      .toMatchObject({ type: 'subscribe', filter: { types: ['recommendation.cross_sell'] } });
    await expect.poll(async () => (await rows(page)).length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(sent.slice(before).map((f) => f.type)).toEqual(['unsubscribe', 'subscribe']);
    expect((await rows(page)).every((r) => r.type === 'recommendation.cross_sell')).toBe(true);
    expect(await states()).toEqual([]);
    expect(await page.locator('[data-testid="notice-stream-error"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('names the alerts that aged out of the server while the screen was away', async () => {
    // Its errors are not checked: connection attempts fail while offline, and say so.
    const { page, sent } = await openDashboard();
    // Away: the browser's network goes (the page drops its socket at once), and its retries
    // fail until the server's ring has moved on past everything the page had seen.
    let reached: number;
    try {
      await browser.setOffline(true);
      await status(page, 'reconnecting');
      // From here the page reads nothing (it dropped the socket), so it has seen at most this.
      reached = ops.hub.ring.sequence;
      await expect.poll(() => ops.hub.ring.oldest, { timeout: 30_000 }).toBeGreaterThan(reached + 1);
    } finally {
      await browser.setOffline(false);
    }
    await status(page, 'connected');
    const resume = sent.findLast((f) => f.type === 'subscribe')!;
    expect(resume.since).toBeGreaterThan(0);
    expect(resume.since).toBeLessThanOrEqual(reached!);
    // The aged-out range starts right after where the page resumed and runs past where it was.
    const notice = page.locator(
      `[data-testid="notice-gap"][data-reason="aged_out"][data-from="${Number(resume.since) + 1}"]`,
    );
    await notice.waitFor({ timeout: 30_000 });
    expect(Number(await notice.getAttribute('data-to'))).toBeGreaterThan(reached!);
    expect(await notice.textContent()).toContain(`#${Number(resume.since) + 1}–#`);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-gap.png') });
    await page.close();
  });

  it('shows "auth failed" for a wrong token, and recovers when the right one is pasted', async () => {
    const page = await browser.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${ops.url}/#token=not-the-right-token-0123456789`);
    await status(page, 'auth-failed');
    expect(await page.textContent('[data-testid="conn-status"]')).toBe('auth failed');
    expect(await page.textContent('[data-testid="notices"]')).toContain('Not authorised');
    expect(sockets).toHaveLength(1); // decided from the first refusal, not after retries
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-auth-failed.png') });
    // The right address pasted into the open screen recovers it without a reload.
    await page.evaluate(`location.hash = 'token=${TOKEN}'`);
    await status(page, 'connected');
    expect(await page.evaluate("sessionStorage.getItem('vigil.token')")).toBe(TOKEN);
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.locator('[data-testid="notices"] .notice-error').count()).toBe(0);
    await page.close();
  });
});
