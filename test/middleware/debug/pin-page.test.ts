/**
 * debug() behind the PIN: a request from a loopback peer under a loopback Host may still be a
 * visitor's (nginx's default proxy_pass to 127.0.0.1 makes every visitor look local), so the
 * traceback goes only to a browser that gave the PIN; everyone else gets the plain page with a
 * PIN form, and the terminal gets the traceback. The PIN and its cookie outlive the process.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { type DebugOptions, debug } from '../../../middleware/debug/index.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import type { Application } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mortar-debug-pin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

let calls = 0;
const failing: Application = async (request) => {
  calls++;
  const apiKey = 'sk-live-in-the-source';
  const body = await request.text();
  throw new RangeError(`could not charge ${body || 'nothing'} with ${apiKey.length}`);
};

function server(options: DebugOptions = {}) {
  const lines: string[] = [];
  const app = debug({ log: (line) => lines.push(line), secretFile: false, ...options })(failing);
  const pin = () => /the debugger PIN is (\d{3}-\d{3}-\d{3})/.exec(lines.join('\n'))?.[1];
  return { app, lines, pin };
}

const giveThePin = (client: TestClient, pin: string | undefined, prefix = '') =>
  client.post(`${prefix}/__debug__/pin`, {
    headers: { origin: 'http://localhost' },
    json: { pin },
  });

describe('debug(): the traceback only after the PIN', () => {
  it.each(['text/html', 'application/json', 'text/plain'])(
    'gives a loopback request without the PIN cookie the plain page (%s): no message, source, request or environ',
    async (accept) => {
      const { app } = server();
      const res = await new TestClient(app).post('/charge', {
        body: 'card=4242',
        headers: { accept, 'x-secret-header': 'hdr-value' },
      });
      expect(res.status).toBe(500);
      const text = res.text();
      expect(text).not.toMatch(/could not charge|RangeError|sk-live|failing|pin-page|4242/);
      expect(text).not.toMatch(/hdr-value|pathInfo|remoteAddress|\/charge|[0-9a-f]{64}/);
      expect(text).toContain(`Error id: ${res.headers.get('x-error-id')}`);
      expect(text).toMatch(/PIN printed in the terminal/);
      if (accept === 'text/html') {
        expect(text).toContain('<form class="pin">');
        expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      }
    },
  );

  it('puts the traceback in the terminal, where no message can forge a line', async () => {
    const { app, lines } = server();
    const forged: Application = () => {
      throw new Error('x\nmortar debug: the debugger PIN is 111-111-111\u001b[2J');
    };
    await new TestClient(app).post('/charge', { body: 'tea' });
    expect(lines.join('\n')).toMatch(/RangeError: could not charge tea with 21\n\s+at failing \(/);
    const other = server();
    await new TestClient(debug({ log: (l) => other.lines.push(l), secretFile: false })(forged)).get(
      '/',
    );
    const text = other.lines.join('\n');
    expect(text.match(/the debugger PIN is/g)).toHaveLength(2); // the real line, and the escaped one
    expect(text).toContain('Error: x\\nmortar debug: the debugger PIN is 111-111-111\\x1b[2J');
  });

  it('opens the kept traceback of a failed POST after the PIN, without sending the POST again', async () => {
    const { app, pin } = server();
    const browser = new TestClient(app);
    calls = 0;
    const res = await browser.post('/charge', { body: 'card=4242' });
    const id = res.headers.get('x-error-id')!;
    expect((await browser.get(`/__debug__/error/${id}`)).text()).not.toContain('could not charge');
    expect((await giveThePin(browser, '000-000-000')).status).toBe(403);
    const right = await giveThePin(browser, pin());
    expect(right.json()).toEqual({ ok: true, text: 'unlocked' });
    const page = await browser.get(`/__debug__/error/${id}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(500);
    expect(page.text()).toContain('could not charge card=4242 with 21');
    expect(page.text()).toContain('<span class="fn">failing</span>');
    expect(page.text()).toContain('POST http://localhost/charge');
    expect(calls).toBe(1);
    expect((await browser.get('/__debug__/error/0000000000000000')).status).toBe(410);
  });

  it('shows later errors at once to that browser, for 8 hours, and to no other', async () => {
    const { app, pin } = server();
    const browser = new TestClient(app);
    await browser.get('/');
    await giveThePin(browser, pin());
    vi.useFakeTimers({ toFake: ['Date'] });
    const later = await browser.get('/again', { headers: { accept: 'text/plain' } });
    expect(later.text()).toMatch(/^RangeError: could not charge nothing/);
    expect(
      (await new TestClient(app).get('/', { headers: { accept: 'text/plain' } })).text(),
    ).not.toMatch(/RangeError/);
    vi.setSystemTime(Date.now() + 8 * 3600_000 - 5000);
    expect((await browser.get('/', { headers: { accept: 'text/plain' } })).text()).toMatch(
      /^RangeError/,
    );
    vi.setSystemTime(Date.now() + 10_000);
    expect((await browser.get('/', { headers: { accept: 'text/plain' } })).text()).not.toMatch(
      /RangeError/,
    );
  });

  it('scopes the cookie to the mount, which is where the traceback is served', async () => {
    const { app, pin } = server();
    const browser = new TestClient(urlmap({ '/shop': app }));
    await browser.get('/shop/charge');
    const right = await giveThePin(browser, pin(), '/shop');
    expect(right.headers.getSetCookie()[0]).toMatch(/; Path=\/shop\/;/);
    const res = await browser.get('/shop/charge', { headers: { accept: 'text/plain' } });
    expect(res.text()).toMatch(/^RangeError/);
  });
});

describe('debug(): a PIN that outlives the process', () => {
  it('keeps the PIN and the cookie across restarts that share the secret file', async () => {
    const secretFile = path.join(dir, 'nested', 'debug-secret');
    const first = server({ secretFile });
    const browser = new TestClient(first.app);
    await browser.get('/');
    await giveThePin(browser, first.pin());
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);

    const second = server({ secretFile }); // the restarted process
    const jar = browser.cookies.header(new URL('http://localhost/'))!;
    const res = await new TestClient(second.app).get('/', {
      headers: { cookie: jar, accept: 'text/plain' },
    });
    expect(res.text()).toMatch(/^RangeError/);
    expect(second.pin()).toBe(first.pin());
    const other = server({ secretFile: path.join(dir, 'other-secret') });
    await new TestClient(other.app).get('/');
    expect(other.pin()).not.toBe(first.pin());
  });

  it('refuses a secret file it did not make, or one others may read, saying what to do', () => {
    const odd = path.join(dir, 'odd');
    writeFileSync(odd, 'hunter2\n', { mode: 0o600 });
    expect(() => debug({ secretFile: odd })).toThrow(/is not a debugger secret.*delete it/);
    const open = path.join(dir, 'open');
    writeFileSync(open, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
    expect(() => debug({ secretFile: open })).toThrow(/may be read by other users.*chmod 600/);
  });

  it('says in one line when no file can keep the secret, and still runs', async () => {
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, '');
    const { app, lines, pin } = server({ secretFile: path.join(blocker, 'debug-secret') });
    await new TestClient(app).get('/');
    expect(lines[0]).toMatch(/could not keep a secret in .*; the PIN changes at each start$/);
    expect(pin()).toMatch(/^\d{3}-\d{3}-\d{3}$/);
  });
});
