/**
 * profile()'s index in a real Chromium (Debian's, through playwright-core): the PIN once, then
 * the profiles with their heaviest functions and a flame chart drawn in the page — no console
 * error, no request to anywhere but the server, the CSP intact. The screenshot is left in
 * $TMPDIR/mortar-profile-index.png for review.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../middleware/profile/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';
import { chromiumAvailable, launchChromium } from '../helpers/chromium.js';
import { closeNow } from '../helpers/net.js';

function render(rows: number): string {
  let html = '';
  for (let i = 0; i < rows; i++) html += `<tr><td>${Math.sqrt(i).toFixed(3)}</td></tr>`;
  return html;
}

const app: Application = (request) => {
  const end = performance.now() + 120;
  let html = '';
  while (performance.now() < end) html = render(2000);
  return new Response(`${new URL(request.url).pathname} ${html.length}`);
};

describe.skipIf(!chromiumAvailable)("profile()'s index in Chromium", () => {
  let browser: Browser;
  let server: Server | undefined;
  let dir: string | undefined;
  const logs: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  // Each attempt (a retry too) has a server and a profile folder of its own: the list it
  // checks holds only the profiles that attempt made.
  afterEach(async () => {
    if (server) await closeNow(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
    server = dir = undefined;
    logs.length = 0;
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('asks for the PIN, then lists the profiles and draws the flame chart with nothing from elsewhere', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mortar-profile-browser-'));
    const middleware = profile({ dir, secretFile: false, log: (line) => logs.push(line) });
    server = await serve(middleware(app), { port: 0, handleSignals: false, announce: false });
    const url = server.url.replace('127.0.0.1', 'localhost');
    await fetch(new URL('/report', url));
    await fetch(new URL('/orders', url));
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith(url)) elsewhere.push(request.url());
    });
    const locked = await page.goto(new URL('/__profile__/', url).href);
    expect(locked!.status()).toBe(200);
    expect(await page.locator('form.pin').count()).toBe(1);
    await expect(page.content()).resolves.not.toContain('/orders');
    const pin = /the PIN is (\d{3}-\d{3}-\d{3})/.exec(logs.join('\n'))![1]!;
    await page.fill('form.pin input[name=pin]', pin);
    const [index] = await Promise.all([page.waitForNavigation(), page.click('form.pin button')]);
    expect(index!.status()).toBe(200);
    const csp = index!.headers()['content-security-policy']!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-/);
    expect(csp).toContain("frame-ancestors 'none'");
    await page.waitForSelector('body[data-chart=drawn]');
    // The newest first, and the chosen one's heaviest function is the page's own code (`app`
    // itself when V8 inlined `render` into it).
    const rows = await page.locator('table.profiles tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('GET /orders');
    expect(rows[1]).toContain('GET /report');
    await expect(page.locator('table.heavy td.fn').first().textContent()).resolves.toMatch(
      /\b(app|render|now|sqrt|toFixed)\b/,
    );
    // Drawn: the canvas has coloured pixels, and hovering names a frame.
    const coloured = await page.evaluate(() => {
      const canvas = document.querySelector('.flame canvas') as HTMLCanvasElement;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) count++;
      return count;
    });
    expect(coloured).toBeGreaterThan(1000);
    const box = (await page.locator('.flame canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 8);
    await expect(page.locator('.flame .tip').textContent()).resolves.toMatch(/ ms · /);
    await page.screenshot({
      path: path.join(tmpdir(), 'mortar-profile-index.png'),
      fullPage: true,
    });
    // The download is the profile itself.
    const href = await page.locator('table.profiles a[download]').first().getAttribute('href');
    const download = await page.request.get(new URL(href!, url).href);
    expect(download.headers()['content-disposition']).toMatch(
      /^attachment; filename=".*_GET_orders_200_/,
    );
    expect((await download.json()).nodes[0].callFrame.functionName).toBe('(root)');
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
