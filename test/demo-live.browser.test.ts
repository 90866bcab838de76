import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `vigil start` as a user runs it (the built CLI, the embedded demo, default live rate), the
 * dashboard in Debian's headless Chromium. 90 s after the start, well past the catch-up, the
 * page must still move: events/s above zero and new alerts arriving in the feed, which
 * scrolls inside its panel. A screenshot is kept in test-artifacts/ (gitignored).
 */
const ARTIFACTS = 'test-artifacts';
const AFTER_START_MS = 90_000;

let child: ChildProcess;
let out = '';
let startedAt: number;
let browser: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  startedAt = Date.now();
  child = spawn('node', ['dist/src/app/cli.js', 'start', '--port', '0'], {
    // A smaller shop than the default, so the catch-up is over well within the 90 s on a loaded machine.
    env: {
      ...process.env,
      VIGIL_DEMO__CUSTOMERS: '2000',
      VIGIL_DEMO__HISTORY_DAYS: '30',
      VIGIL_SERVER__LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  ({ context: browser, userDataDir } = await launchChromium());
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  if (child?.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function number(page: Page, testid: string): Promise<number> {
  return Number(((await page.textContent(`[data-testid="${testid}"]`)) ?? '').replace(/,/g, ''));
}

async function newestSeq(page: Page): Promise<number> {
  const first = page.locator('[data-testid="alert-row"]').first();
  return (await first.count()) === 0 ? 0 : Number(await first.getAttribute('data-seq'));
}

describe('the demo 90 s after start', () => {
  it('keeps producing: events/s and the alert feed still move, the feed scrolls in its panel', async () => {
    await expect.poll(() => /vigil ops: (http:\/\/\S+)/.exec(out)?.[1], { timeout: 60_000 }).toBeDefined();
    const url = /vigil ops: (http:\/\/\S+)/.exec(out)![1]!;
    const page = await browser.newPage();
    await page.goto(url);
    await page.locator('[data-testid="conn-status"][data-state="connected"]').waitFor({ timeout: 60_000 });

    const wait = startedAt + AFTER_START_MS - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    // Past the catch-up: the summary lines say live.
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/\(live\)$/);

    // Events/s stays above zero over 10 s of samples; the feed's newest seq grows.
    const firstSeq = await newestSeq(page);
    const rates: number[] = [];
    for (let i = 0; i < 10; i++) {
      rates.push(await number(page, 'events-per-second'));
      await page.waitForTimeout(1000);
    }
    expect(Math.min(...rates), rates.join(' ')).toBeGreaterThan(0);
    await expect.poll(() => newestSeq(page), { timeout: 60_000, interval: 1000 }).toBeGreaterThan(firstSeq);

    // The feed holds many rows yet the page stays about one screen tall.
    const rows = await page.locator('[data-testid="alert-row"]').count();
    expect(rows).toBeGreaterThan(20);
    const pageHeight = Number(await page.evaluate('document.documentElement.scrollHeight'));
    expect(pageHeight).toBeLessThan(2000);
    // (The test's tsconfig has no DOM types: the element's two sizes are read through a cast.)
    const scroll = await page.locator('[data-testid="feed-scroll"]').evaluate((el) => {
      const box = el as unknown as { scrollHeight: number; clientHeight: number };
      return [box.scrollHeight, box.clientHeight] as const;
    });
    expect(scroll[0]).toBeGreaterThan(scroll[1]);

    // Revenue shows its currency; latency covers the last minute, so the catch-up's backlog
    // (seconds) leaves it and live deliveries (milliseconds) remain.
    expect(await page.textContent('[data-testid="revenue-currency"]')).toBe('EUR');
    await expect.poll(() => number(page, 'latency-p50'), { timeout: 90_000, interval: 2000 }).toBeLessThan(1000);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live-90s.png'), fullPage: true });
  }, 300_000);
});
