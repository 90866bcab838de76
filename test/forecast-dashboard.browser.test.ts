import { rmSync } from 'node:fs';
import { type BrowserContext } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CATEGORIES } from '../src/analytics/demand/demand-process.js';
import { startOpsServer, type OpsServer } from '../src/server/ops-server.js';
import { SEASONAL_SHOP } from '../src/edges/demo/demand-cycle.js';
import { SyntheticShop } from '../src/edges/demo/shop.js';
import { message, runMessages, testConfig } from './support/engine-harness.js';

/**
 * The dashboard's demand tile in Debian's headless Chromium against the real ops server over
 * an engine that replayed a seasonal shop: what the page draws is what GET /v1/forecasts
 * says (the oracle), per category and granularity; a token without kpi:read gets a tile that
 * says so, and the rest of the page still works.
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const TOKEN = 'forecast-tile-test-token-0123456789';
const NO_KPI = 'forecast-tile-no-kpi-token-0123456789';

describe('dashboard demand tile', () => {
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
      seed: 4,
      customers: 400,
      products: 100,
      startTs: START,
      endTs: START + 35 * DAY,
      demandCycle: SEASONAL_SHOP,
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
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  const fmt = (v: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 }).format(v);

  it('draws actual vs forecast as the API gives them, for each category and granularity', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/#token=${TOKEN}`);
    const chart = page.getByTestId('forecast-chart');
    await expect.poll(() => chart.getAttribute('data-points'), { timeout: 60_000 }).not.toBeNull();
    const demand = engine.state.demand!;
    // The category list is the API's.
    const options = await page.getByTestId('forecast-category').locator('option').allTextContents();
    expect(options).toEqual(demand.categoryNames());
    const category = demand.categoryNames().find((c) => c !== ALL_CATEGORIES)!;
    for (const [cat, granularity] of [
      [ALL_CATEGORIES, 'hourly'],
      [category, 'daily'],
    ] as const) {
      await page.getByTestId('forecast-category').selectOption(cat);
      await page.getByTestId('forecast-granularity').selectOption(granularity);
      const view = demand.view(cat)![granularity].measures.units;
      await expect.poll(() => chart.getAttribute('data-category'), { timeout: 30_000 }).toBe(cat);
      await expect
        .poll(() => chart.getAttribute('data-points'), { timeout: 30_000 })
        .toBe(String(view.recent.length + view.forecast.length));
      await expect
        .poll(() => page.getByTestId('forecast-last-actual').textContent(), { timeout: 30_000 })
        .toBe(fmt(view.recent.at(-1)!.actual));
      expect(await page.getByTestId('forecast-next-mean').textContent()).toBe(fmt(view.forecast[0]!.mean));
      expect(await page.getByTestId('forecast-next-interval').textContent()).toBe(
        `${fmt(view.forecast[0]!.lo95)}–${fmt(view.forecast[0]!.hi95)}`,
      );
    }
    // uPlot drew it: a canvas with a legend naming the series.
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    expect(await chart.locator('.u-legend').textContent()).toContain('forecast');
    await chart.screenshot({ path: 'test-artifacts/forecast-tile.png' }).catch(() => {});
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('a token without kpi:read gets a tile that says so; the stream still connects', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/#token=${NO_KPI}`);
    await expect
      .poll(() => page.getByTestId('forecast-tile').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('unavailable');
    expect(await page.getByTestId('forecast-summary').textContent()).toBe('needs a token with kpi:read');
    await expect
      .poll(() => page.getByTestId('conn-status').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('connected');
    await page.close();
  }, 120_000);
});
