import { rmSync } from 'node:fs';
import { type BrowserContext } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignReport } from '../src/analytics/campaigns/cohorts.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { demoCampaigns } from '../src/edges/demo/shop-campaigns.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';

/**
 * The dashboard's campaign and cluster tiles in Debian's headless Chromium against the real
 * ops server over an engine that replayed 160 days of the synthetic shop with the demo's
 * campaigns (whose windows close, so there are final reports): what the tiles show is what
 * the engine's state says (the oracle); the endpoints behind them need a token with kpi:read.
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const TOKEN = 'campaign-tile-test-token-0123456789';
const NO_KPI = 'campaign-tile-no-kpi-token-0123456789';

describe('dashboard campaign and cluster tiles', () => {
  const config = testConfig({
    server: {
      port: 0,
      logLevel: 'silent',
      tokens: [
        { name: 'wall', token: TOKEN, scopes: ['stream', 'kpi:read'], maxConnections: 4 },
        { name: 'alerts-only', token: NO_KPI, scopes: ['stream'], maxConnections: 4 },
      ],
    },
  });
  let server: OpsServer;
  let browser: BrowserContext;
  let userDataDir: string;
  let engine: Awaited<ReturnType<typeof runMessages>>['engine'];

  beforeAll(async () => {
    const shop = new SyntheticShop({
      seed: 5,
      customers: 300,
      products: 80,
      startTs: START,
      endTs: START + 160 * DAY,
      campaigns: demoCampaigns(START),
    });
    const messages = [];
    for (let e = shop.next(); e !== undefined; e = shop.next()) messages.push(message(e));
    engine = (await runMessages(config, messages)).engine;
    server = await startOpsServer({
      config,
      engine,
      readiness: { sourceConnected: () => true, stateReady: () => true },
    });
    ({ context: browser, userDataDir } = await launchChromium());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);
  const pts = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;

  it('shows the final campaign reports as the state holds them, with verdicts the intervals support', async () => {
    const cohorts = engine.state.campaigns!.cohorts;
    const finals = cohorts.finalReports();
    // Both demo campaigns closed (last event by day 24, + 90 days < 160).
    expect(finals.map((r) => r.campaign).sort()).toEqual(['spring-email', 'summer-social']);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/#token=${TOKEN}`);
    await expect
      .poll(() => page.getByTestId('campaign-tile').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('ok');
    const rows = page.getByTestId('campaign-rows').locator('tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(finals.length);
    for (const r of finals as CampaignReport[]) {
      const row = page.locator(`[data-testid="campaign-rows"] tr[data-campaign="${r.campaign}"]`);
      const cell = (k: string) => row.locator(`td[data-cell="${k}"]`).textContent();
      const d90 = r.repeat[2]!;
      expect(await cell('state')).toBe('final');
      expect(await cell('buyers')).toBe(`${r.firstTimeBuyers} new · ${r.returningBuyers} back`);
      expect(await cell('repeat')).toBe(`${pct(d90.campaignRate.estimate)} vs ${pct(d90.baselineRate.estimate)}`);
      expect(await cell('uplift')).toBe(`${pts(d90.uplift.lo)} … ${pts(d90.uplift.hi)} pts`);
      expect(await cell('verdict')).toBe(r.verdict);
      // An uplift is shown only when the interval lies above 0.
      expect(r.verdict === 'uplift').toBe(d90.uplift.lo > 0);
      expect(r.firstTimeBuyers).toBeGreaterThan(0);
    }
    expect(await page.getByTestId('campaign-summary').textContent()).toContain(`${finals.length} closed`);
    await page
      .getByTestId('campaign-tile')
      .screenshot({ path: 'test-artifacts/campaign-tile.png' })
      .catch(() => {});
    await page
      .getByTestId('cluster-tile')
      .screenshot({ path: 'test-artifacts/cluster-tile.png' })
      .catch(() => {});
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('shows the published clusters with their ids, labels and sizes', async () => {
    const published = engine.state.clusters!.clusters!;
    expect(published.ids.length).toBe(config.clusters.k);
    const total = published.sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    const page = await browser.newPage();
    await page.goto(`${server.url}/#token=${TOKEN}`);
    await expect
      .poll(() => page.getByTestId('cluster-tile').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('ok');
    const items = page.getByTestId('clusters').locator('li');
    await expect.poll(() => items.count(), { timeout: 30_000 }).toBe(published.ids.length);
    for (const [q, id] of published.ids.entries()) {
      const li = page.getByTestId(`cluster-${id}`);
      expect(await li.locator('.name').textContent()).toBe(`#${id} ${published.labels[q]}`);
      expect(await li.getAttribute('data-size')).toBe(String(published.sizes[q]));
      expect(await li.locator('.share').textContent()).toBe(`${((100 * published.sizes[q]!) / total).toFixed(1)} %`);
    }
    // Ordered by id.
    const shown = await items.evaluateAll((els) => els.map((e) => Number(e.dataset.testid!.slice('cluster-'.length))));
    expect(shown).toEqual([...published.ids].sort((a, b) => a - b));
    await page.close();
  }, 120_000);

  it('needs kpi:read: without it the tiles say so, and the endpoints refuse', async () => {
    for (const path of ['/v1/campaigns', '/v1/clusters', '/v1/campaigns/spring-email']) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(401);
      const wrong = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${NO_KPI}` } });
      expect(wrong.status).toBe(403);
      const ok = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      // Aggregates: no customer id in any of them.
      expect(await ok.text()).not.toMatch(/"c\d{6}"/);
    }
    const page = await browser.newPage();
    await page.goto(`${server.url}/#token=${NO_KPI}`);
    for (const tile of ['campaign', 'cluster']) {
      await expect
        .poll(() => page.getByTestId(`${tile}-tile`).getAttribute('data-state'), { timeout: 60_000 })
        .toBe('unavailable');
      expect(await page.getByTestId(`${tile}-summary`).textContent()).toBe('needs a token with kpi:read');
    }
    await page.close();
  }, 120_000);
});
