import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { seedDemo } from '../../core/seed/demo.ts';
import type { WorkerOptions } from '../../gateway/workers/index.ts';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.ts';
import { startTestHuike, type TestHuike } from './huike.ts';

export const ARTIFACTS = path.resolve('test-artifacts');

/** The demo shop on a node of its own, its KB loaded, and a Chromium to drive it: what every browser journey starts from. */
export async function demoWithBrowser(opts: { env?: Record<string, string>; workers?: WorkerOptions } = {}): Promise<{ h: TestHuike; browser: Browser; close(): Promise<void> }> {
  const h = await startTestHuike(opts);
  await seedDemo(h.deps.sql);
  await h.bot.reload();
  const browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    h,
    browser,
    async close() {
      await browser.close();
      await h.close();
    },
  };
}

/**
 * demoWithBrowser for a describe block: started in beforeAll, closed in afterAll. Read `h` and `browser`
 * from the returned object inside the tests.
 */
export function demoBrowserHooks(opts: Parameters<typeof demoWithBrowser>[0] = {}): { h: TestHuike; browser: Browser } {
  const ctx = {} as { h: TestHuike; browser: Browser };
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const d = await demoWithBrowser(opts);
    Object.assign(ctx, { h: d.h, browser: d.browser });
    close = d.close;
  });
  afterAll(() => close());
  return ctx;
}
