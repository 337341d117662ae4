/**
 * The demo's live page (examples/site/live.ts) in a real Chromium (Debian's, through
 * playwright-core): two browsers with their own sessions chat through it, under the name each
 * session holds; the server is stopped and started again on the same port and both pages
 * reconnect by themselves and chat again; a page of another origin that opens the socket is
 * refused with 403 and gets no socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWebSocketRequest } from '../../middleware/websocket/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';
import { chromiumAvailable, chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { closeNow } from '../helpers/net.js';

/** Waits until the page says its socket is open. */
const connected = (page: Page) => page.locator('#status[data-state="connected"]').waitFor();

/** Types `text` into the page's form and sends it. */
async function say(page: Page, text: string): Promise<void> {
  await page.fill('#say input[name="text"]', text);
  await page.click('#say button');
}

/** Waits until a message line reading exactly `text` is on the page. */
const shown = (page: Page, text: string) =>
  page.locator('#messages li', { hasText: new RegExp(`^${text}$`) }).waitFor();

describe.skipIf(!chromiumAvailable)("the demo's live page in Chromium", () => {
  let browser: Browser;
  let server: Server;
  let port = 0;
  let url = '';
  let foreign: http.Server | undefined;
  /** Every WebSocket handshake the site answered: its Origin and the chain's status. */
  const handshakes: [string | null, number][] = [];
  const cache = mkdtempSync(path.join(tmpdir(), 'mortar-live-browser-'));
  const cacheHome = process.env.XDG_CACHE_HOME;
  let site: Application;
  const start = () => serve(site, { port, handleSignals: false, announce: false });

  beforeAll(async () => {
    process.env.XDG_CACHE_HOME = cache; // where the demo's debug() keeps its PIN's secret
    const { application } = await import('../../examples/site/index.js');
    site = async (request, environ) => {
      const response = await application(request, environ);
      if (isWebSocketRequest(request)) {
        handshakes.push([request.headers.get('origin'), response.status]);
      }
      return response;
    };
    server = await start();
    port = Number(new URL(server.url).port);
    url = server.url;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    if (server) await closeNow(server);
    foreign?.close();
    rmSync(cache, { recursive: true, force: true });
    if (cacheHome === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cacheHome;
  });

  it('carries a message from one page to the other under the session names, and again after a restart', async () => {
    const ann = await (await browser.newContext()).newPage();
    await ann.goto(`${url}account/`);
    await ann.fill('input[name="user"]', 'ann');
    await ann.click('form button');
    await ann.getByText('Signed in as ann.').waitFor();
    await ann.goto(`${url}live/`);
    const guest = await (await browser.newContext()).newPage();
    const refused: string[] = []; // what the page's Content-Security-Policy blocked
    for (const page of [ann, guest]) {
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
      });
    }
    await guest.goto(`${url}live/`);
    await Promise.all([connected(ann), connected(guest)]);
    await expect(ann.locator('#me').textContent()).resolves.toBe('ann');
    const guestName = (await guest.locator('#me').textContent())!;
    expect(guestName).toMatch(/^guest-[0-9a-f]{4}$/);

    await say(ann, 'hello from ann');
    await shown(guest, 'ann: hello from ann');
    await say(guest, 'hi ann');
    await shown(ann, `${guestName}: hi ann`);
    await shown(guest, `${guestName}: hi ann`); // the sender sees its own line too

    // The server stops (its sockets are closed with 1001) and starts again on the same port.
    await closeNow(server);
    await Promise.all(
      [ann, guest].map((page) => page.locator('#status[data-state="reconnecting"]').waitFor()),
    );
    await expect(ann.locator('#say button').isDisabled()).resolves.toBe(true);
    server = await start();
    await Promise.all([connected(ann), connected(guest)]);
    await say(guest, 'still here');
    await shown(ann, `${guestName}: still here`);
    await say(ann, 'welcome back');
    await shown(guest, 'ann: welcome back');
    expect(handshakes.filter(([, status]) => status !== 426)).toEqual([]); // all accepted
    expect(refused).toEqual([]);
  }, 60_000);

  it('refuses the socket to a page of another origin: the server answers 403, the page sees an error', async () => {
    foreign = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>another site</title><script>
const socket = new WebSocket('ws://127.0.0.1:${port}/live/ws');
socket.onopen = () => { window.outcome = 'open'; };
socket.onerror = () => { window.outcome = 'error'; };
socket.onclose = (event) => { window.closeCode = event.code; };
</script>`);
    });
    await new Promise<void>((resolve) => foreign!.listen(0, '127.0.0.1', resolve));
    const page = await browser.newPage();
    const logged: string[] = []; // the page's console, where Chromium says why a socket failed
    page.on('console', (message) => logged.push(message.text()));
    handshakes.length = 0;
    await page.goto(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`);
    const outcome = await page.waitForFunction(() => (window as { outcome?: string }).outcome);
    expect(await outcome.jsonValue()).toBe('error');
    await page.waitForFunction(() => (window as { closeCode?: number }).closeCode !== undefined);
    await expect(page.evaluate(() => (window as { closeCode?: number }).closeCode)).resolves.toBe(
      1006,
    );
    expect(handshakes).toEqual([
      [`http://127.0.0.1:${(foreign.address() as AddressInfo).port}`, 403],
    ]);
    expect(logged.join('\n')).toMatch(/Unexpected response code: 403/);
  }, 60_000);
});

if (!chromiumAvailable) {
  describe("the demo's live page in Chromium", () => {
    it.skip(chromiumSkipReason, () => {});
  });
}
