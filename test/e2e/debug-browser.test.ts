/**
 * The debugger in a real Chromium (Debian's, through playwright-core): open a failing page, enter
 * the PIN once, see the traceback, expand a frame, evaluate in the console; later errors — after
 * a restart too — show their tracebacks without the PIN.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debug } from '../../middleware/debug/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';
import { chromiumAvailable, chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { closeNow } from '../helpers/net.js';

function price(item: string): number {
  const menu: Record<string, number> = { tea: 3 };
  const found = menu[item];
  if (found === undefined) throw new RangeError(`nothing called ${item} on the menu`);
  return found;
}

const app: Application = async (request) => {
  const item = new URL(request.url).searchParams.get('item') ?? 'cake';
  const count = 2;
  return new Response(String(price(item) * count));
};

describe.skipIf(!chromiumAvailable)('the debugger in Chromium', () => {
  let browser: Browser;
  let server: Server;
  const logs: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-debug-browser-'));
  const secretFile = path.join(dir, 'debug-secret');
  const start = () =>
    serve(debug({ log: (line) => logs.push(line), capture: { mode: 'always' }, secretFile })(app), {
      port: 0,
      handleSignals: false,
      announce: false,
    });
  beforeAll(async () => {
    server = await start();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (server) await closeNow(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for the PIN once, then shows this and later tracebacks, and evaluates in a frame', async () => {
    const page = await browser.newPage();
    const url = server.url.replace('127.0.0.1', 'localhost');
    const response = await page.goto(`${url}?item=scone`);
    expect(response!.status()).toBe(500);
    // Before the PIN: the plain page, nothing of the error but its id.
    await expect(page.locator('h1').textContent()).resolves.toBe('500 Internal Server Error');
    await expect(page.content()).resolves.not.toMatch(/scone|price|RangeError/);

    const pin = /the debugger PIN is (\d{3}-\d{3}-\d{3})/.exec(logs.join('\n'))![1]!;
    await page.fill('form.pin input[name=pin]', pin);
    await page.click('form.pin button');
    await page.waitForURL(/\/__debug__\/error\/[0-9a-f]{16}$/);
    await expect(page.locator('h1').textContent()).resolves.toBe(
      'nothing called scone on the menu',
    );
    await page
      .locator('table.vars td', { hasText: /^menu$/ })
      .first()
      .waitFor();

    const index = await page.evaluate(() =>
      [...document.querySelectorAll('details.frame')].findIndex((d) => !d.hasAttribute('open')),
    );
    expect(index).toBeGreaterThan(0);
    const collapsed = page.locator('details.frame').nth(index);
    await collapsed.locator('summary').click();
    await expect(collapsed.getAttribute('open')).resolves.toBe('');

    // The console reads as a terminal: oldest output first, the input below the newest.
    const first = page.locator('form.console').first();
    const expressions = ['item + ": " + Object.keys(menu)', 'nosuchvar', 'item.length * 2'];
    for (const [done, expression] of expressions.entries()) {
      await first.locator('input').fill(expression);
      await first.locator('button').click();
      await page.waitForFunction(
        (n) => document.querySelectorAll('pre.out.ok, pre.out.bad').length === n,
        done + 1,
      );
    }
    const outputs = await page.locator('pre.out').allTextContents();
    expect(outputs).toEqual([
      `> item + ": " + Object.keys(menu)\n'scone: tea'`,
      '> nosuchvar\nReferenceError: nosuchvar is not defined',
      '> item.length * 2\n10',
    ]);
    const inputBelow = await page.evaluate(() => {
      const outs = document.querySelectorAll('pre.out');
      const form = document.querySelector('form.console');
      return Boolean(outs[2]!.compareDocumentPosition(form!) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    expect(inputBelow).toBe(true);

    // The next failing page in this browser shows its traceback at once: no PIN asked again.
    await page.goto(`${url}?item=muffin`);
    await expect(page.locator('h1').textContent()).resolves.toBe(
      'nothing called muffin on the menu',
    );
    await expect(page.locator('form.pin').count()).resolves.toBe(0);

    // Nor after a restart (a --reload, a new port): the PIN and its cookie outlive the process.
    await closeNow(server);
    server = await start();
    await page.goto(`${server.url.replace('127.0.0.1', 'localhost')}?item=bagel`);
    await expect(page.locator('h1').textContent()).resolves.toBe(
      'nothing called bagel on the menu',
    );
    await expect(page.locator('form.console').first().isVisible()).resolves.toBe(true);
    await page.close();
  }, 60_000);
});

if (!chromiumAvailable) {
  describe('the debugger in Chromium', () => {
    it.skip(chromiumSkipReason, () => {});
  });
}
