/**
 * Debian's Chromium for the browser tests, through playwright-core: where it is, whether a
 * test may use it, and a headless launch without the sandbox (tests run as root in CI) or the
 * browser's own network chatter.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where `apt-get install -y chromium` puts it. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether the browser tests run: Chromium is installed, or CI=true (then they fail without). */
export const chromiumAvailable = existsSync(CHROMIUM) || process.env.CI === 'true';

/** The skipped test's name when Chromium is missing, saying how to run it. */
export const chromiumSkipReason =
  'skipped: Chromium is not installed (apt-get install -y chromium), or set CI=true to fail';

/** A headless Chromium; close it in the test's teardown. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
