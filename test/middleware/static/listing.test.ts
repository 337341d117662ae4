/**
 * serveStatic's folder listing over real HTTP, and in a real Chromium: folders first, sizes
 * in binary units with the exact bytes, modification times in UTC in `<time datetime>`,
 * names escaped, and a Content-Security-Policy the page itself keeps (its style applies,
 * nothing is refused).
 */
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../../../middleware/static/index.js';
import { humanSize } from '../../../middleware/static/listing.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { FastResponse } from '../../../src/index.js';
import { chromiumAvailable, launchChromium } from '../../helpers/chromium.js';
import { closeNow } from '../../helpers/net.js';
import { type Fixture, MTIME, makeFixture } from './fixture.js';

let fx: Fixture;
let server: Server;
const FOLDER_TIME = new Date(Date.UTC(2025, 11, 31, 23, 59, 30));

beforeAll(async () => {
  fx = makeFixture();
  const listing = path.join(fx.root, 'listing');
  writeFileSync(path.join(listing, 'Zebra.bin'), Buffer.alloc(1536));
  utimesSync(path.join(listing, 'Zebra.bin'), MTIME, MTIME);
  mkdirSync(path.join(listing, 'zz-folder'));
  utimesSync(path.join(listing, 'zz-folder'), FOLDER_TIME, FOLDER_TIME);
  utimesSync(path.join(listing, 'inner'), FOLDER_TIME, FOLDER_TIME);
  const links = path.join(fx.root, 'links');
  mkdirSync(links);
  symlinkSync(path.join(fx.root, 'hello.txt'), path.join(links, 'inside.txt'));
  symlinkSync(path.join(fx.outside, 'secret.txt'), path.join(links, 'outside.txt'));
  symlinkSync(fx.outside, path.join(links, 'outside-dir'));
  symlinkSync(path.join(links, 'nowhere'), path.join(links, 'dangling.txt'));
  const app = serveStatic(fx.root, { listing: true })(
    () => new FastResponse('below', { status: 404 }),
  );
  server = await serve(app, { port: 0, handleSignals: false, announce: false, log: () => {} });
});
afterAll(async () => {
  await closeNow(server);
  fx.remove();
});

/** The listing's rows: name, size cell and time cell, as the HTML has them. */
function rows(html: string): string[][] {
  return [
    ...html.matchAll(
      /<tr><td>(.*?)<\/td><td class="size">(.*?)<\/td><td class="time">(.*?)<\/td><\/tr>/g,
    ),
  ].map((row) => row.slice(1));
}

describe('serveStatic listing', () => {
  it('lists folders first, then files, each with its size and UTC modification time', async () => {
    const response = await fetch(`${server.url}listing/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const time = '<time datetime="2026-01-02T03:04:05Z">2026-01-02 03:04</time>';
    const folderTime = '<time datetime="2025-12-31T23:59:30Z">2025-12-31 23:59</time>';
    expect(rows(html)).toEqual([
      ['<a href="inner/">inner/</a>', '', folderTime],
      ['<a href="zz-folder/">zz-folder/</a>', '', folderTime],
      [
        '<a href="%3Cb%3E%26%22x%22.txt">&lt;b&gt;&amp;&quot;x&quot;.txt</a>',
        '<data value="2" title="2 bytes">2 B</data>',
        time,
      ],
      ['<a href="a.txt">a.txt</a>', '<data value="2" title="2 bytes">2 B</data>', time],
      [
        '<a href="Zebra.bin">Zebra.bin</a>',
        '<data value="1536" title="1536 bytes">1.5 KiB</data>',
        time,
      ],
    ]);
    expect(html).toContain('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
    expect(html).not.toContain('.dot');
  });

  it('leaves out what the symlink policy would not serve', async () => {
    const html = await (await fetch(`${server.url}links/`)).text();
    expect(rows(html).map(([name]) => name)).toEqual(['<a href="inside.txt">inside.txt</a>']);
  });

  it('writes sizes in binary units', () => {
    expect(
      [0, 1023, 1024, 1536, 10 * 1024 - 1, 10 * 1024 * 1024, 1024 * 1024 - 1, 5 * 2 ** 40].map(
        humanSize,
      ),
    ).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10.0 KiB', '10 MiB', '1.0 MiB', '5.0 TiB']);
  });

  it('sends a CSP that allows its one style sheet by hash and nothing else', async () => {
    const response = await fetch(`${server.url}listing/`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toContain('unsafe');
    const html = await response.text();
    expect(html).not.toMatch(/<script|\sstyle=|\son\w+=/i);
  });
});

describe.skipIf(!chromiumAvailable)('the listing in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('applies its style under its own CSP, with nothing refused', async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused/i.test(message.text())) refused.push(message.text());
    });
    await page.goto(`${server.url}listing/`);
    const layout = await page.evaluate(() => ({
      collapse: getComputedStyle(document.querySelector('table')!).borderCollapse,
      sizeAlign: getComputedStyle(document.querySelector('td.size')!).textAlign,
      times: [...document.querySelectorAll('time')].map((t) => t.dateTime),
    }));
    expect(layout.collapse).toBe('collapse');
    expect(layout.sizeAlign).toBe('right');
    expect(layout.times).toContain('2026-01-02T03:04:05Z');
    expect(refused).toEqual([]);
  }, 30_000);
});
