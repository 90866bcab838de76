import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Debian's headless Chromium with a profile of its own in a temp dir (a persistent context
 * is playwright's way to give Chromium its own --user-data-dir). The caller closes the
 * context and removes `userDataDir`.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<{
  context: BrowserContext;
  userDataDir: string;
}> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      ...extraArgs,
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return { context, userDataDir };
}
