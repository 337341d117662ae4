/**
 * debug(): negotiation, what it shows to whom, locals, the console and every security rule
 * (errors(), the plain page it gives everyone else, has test/middleware/errors/).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DebugOptions, debug } from '../../../middleware/debug/index.js';
import { type Application, FastResponse, HTTPError } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { thenable } from '../../helpers/thenable.js';

function inner(order: { id: number }): never {
  const secret = `sauce-${order.id}`;
  throw new RangeError(`no price for order ${order.id} <script>alert(1)</script> ${secret.length}`);
}

/** Routes that fail in different ways. */
const failing: Application = async (request) => {
  const { pathname } = new URL(request.url);
  if (pathname === '/sync') inner({ id: 7 });
  if (pathname === '/async') {
    const before = 'before the await';
    await new Promise((r) => setTimeout(r, 1));
    const after = { list: [1, 2, 3] };
    inner({ id: after.list.length + before.length });
  }
  if (pathname === '/cause')
    throw new Error('outer failure', { cause: new TypeError('inner failure') });
  if (pathname === '/aggregate')
    throw new AggregateError([new Error('first'), new Error('second')], 'both failed');
  if (pathname === '/http') throw new HTTPError(409, { body: 'conflict here' });
  if (pathname === '/string') throw 'a plain string';
  return new FastResponse('fine');
};

const logs: string[] = [];
/** A browser (its own cookie jar) in front of a new debug() with a per-process PIN. */
const make = (options: DebugOptions = {}, base = 'http://localhost') =>
  new TestClient(
    debug({
      log: (line) => logs.push(line),
      errors: { log: (r) => logs.push(r.message) },
      secretFile: false,
      ...options,
    })(failing),
    { baseURL: base },
  );
/** The PIN the newest debug() instance printed. */
const pinFromLogs = () =>
  [...logs.join('\n').matchAll(/the debugger PIN is (\d{3}-\d{3}-\d{3})/g)].at(-1)?.[1];

/** Gives the PIN the way the page does; resolves with the endpoint's answer. */
const unlock = (client: TestClient, base = 'http://localhost') =>
  client.post('/__debug__/pin', {
    headers: { origin: base, 'content-type': 'application/json' },
    json: { pin: pinFromLogs() },
  });

/** A browser that met an error and gave the PIN: it sees tracebacks from now on. */
async function unlocked(options: DebugOptions = {}, base = 'http://localhost') {
  const client = make(options, base);
  await client.get('/sync');
  expect((await unlock(client, base)).status).toBe(200);
  return client;
}

/** The locals each app frame had when `path` failed, as a browser sees them after the PIN. */
async function localsAfterPin(client: TestClient, path: string) {
  const res = await client.get(path, { headers: { accept: 'application/json' } });
  expect((await unlock(client)).status).toBe(200);
  const page = await client.get(`/__debug__/error/${res.headers.get('x-error-id')}`, {
    headers: { accept: 'application/json' },
  });
  return page.json<{ locals: (Record<string, string> | null)[] }>().locals;
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  logs.length = 0;
});

describe('debug(): who sees what', () => {
  it('refuses to start under NODE_ENV=production unless forced', () => {
    vi.stubEnv('NODE_ENV', 'production');
    expect(() => debug()).toThrow(/refusing to run with NODE_ENV=production/);
    expect(() => debug({ force: true, capture: false, secretFile: false })).not.toThrow();
  });

  it.each(['http://evil.example', 'http://localhost.evil.example', 'http://192.168.1.5:8000'])(
    'gives an untrusted Host (%s) the plain error page: no source, locals or token',
    async (base) => {
      const res = await make({}, base).get('/sync', { headers: { accept: 'text/html' } });
      expect(res.status).toBe(500);
      expect(res.text()).not.toMatch(/inner|sauce|mortar-debug-token|x-mortar|<pre/);
      expect(res.text()).toMatch(/Error id: [0-9a-f]{16}/);
    },
  );

  it('gives a peer that is not loopback the plain page, even with a trusted Host', async () => {
    const far = new TestClient(
      debug({ log: () => {}, errors: { log: () => {} }, secretFile: false })(failing),
      { remoteAddress: '203.0.113.9' },
    );
    const res = await far.get('/sync', { headers: { accept: 'text/html' } });
    expect(res.text()).not.toMatch(/inner|sauce|<pre/);
    expect(res.text()).toMatch(/Error id: [0-9a-f]{16}/);
    expect((await far.post('/__debug__/pin', { json: {} })).status).toBe(404);
    const allowed = new TestClient(
      debug({ log: (line) => logs.push(line), addresses: ['203.0.113.9'], secretFile: false })(
        failing,
      ),
      { remoteAddress: '203.0.113.9' },
    );
    await allowed.get('/sync');
    await unlock(allowed);
    expect((await allowed.get('/sync', { headers: { accept: 'text/html' } })).text()).toContain(
      '<span class="fn">inner</span>',
    );
  });

  it.each([
    ['x-forwarded-for', '203.0.113.9'],
    ['forwarded', 'for=203.0.113.9'],
    ['via', '1.1 nginx'],
    ['x-forwarded-host', 'localhost'],
  ])('treats %s as a proxy in front: the plain page, unless trustProxy', async (name, value) => {
    const headers = { accept: 'text/html', [name]: value };
    const behind = await (await unlocked()).get('/sync', { headers });
    expect(behind.text()).not.toMatch(/inner|<pre/);
    const trusted = await (await unlocked({ trustProxy: true })).get('/sync', { headers });
    expect(trusted.text()).toContain('<span class="fn">inner</span>');
  });

  it.each([
    'http://localhost:3000',
    'http://app.localhost',
    'http://127.0.0.1:8000',
    'http://[::1]:8000',
    'http://dev.example',
  ])('shows the traceback to a trusted Host (%s), once the PIN was given', async (base) => {
    const client = await unlocked({ hosts: ['dev.example'] }, base);
    const res = await client.get('/sync', {
      headers: { accept: 'text/html' },
    });
    expect(res.text()).toContain('<span class="fn">inner</span>');
  });

  it('sends the HTML page with no-store, nosniff and a nonce CSP that forbids framing, all escaped', async () => {
    const res = await (await unlocked()).get('/sync', { headers: { accept: 'text/html' } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    expect(res.text()).toContain(`<script nonce="${nonce}">`);
    expect(res.text()).not.toContain('<script>alert(1)</script>');
    expect(res.text()).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('negotiates JSON and plain text', async () => {
    const client = await unlocked();
    const json = (await client.get('/sync', { headers: { accept: 'application/json' } })).json<{
      error: { name: string; frames: { name: string }[] };
      text: string;
    }>();
    expect(json.error.name).toBe('RangeError');
    expect(json.error.frames[0]!.name).toBe('inner');
    const text = await client.get('/sync', { headers: { accept: 'text/plain' } });
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.text()).toMatch(/^RangeError: no price for order 7/);
  });

  it('shows the cause chain and AggregateError members', async () => {
    const client = await unlocked();
    const cause = (await client.get('/cause', { headers: { accept: 'application/json' } })).json<{
      error: { cause: { name: string; message: string } };
    }>();
    expect(cause.error.cause).toMatchObject({ name: 'TypeError', message: 'inner failure' });
    const aggregate = await client.get('/aggregate', { headers: { accept: 'text/html' } });
    expect(aggregate.text()).toContain('AggregateError member 1: Error: first');
    expect(aggregate.text()).toContain('AggregateError member 2: Error: second');
  });

  it('redacts Cookie and Authorization in the request it shows', async () => {
    const client = await unlocked();
    const pinCookie = client.cookies.header(new URL('http://localhost/'));
    const res = await client.get('/sync', {
      headers: {
        accept: 'application/json',
        cookie: `sid=secret-session; ${pinCookie}`,
        authorization: 'Bearer secret-token',
      },
    });
    const headers = Object.fromEntries(
      res.json<{ request: { headers: [string, string][] } }>().request.headers,
    );
    expect(headers.cookie).toBe('[redacted]');
    expect(headers.authorization).toBe('[redacted]');
  });

  it('passes an HTTPError through as its own response', async () => {
    expect((await make().get('/http')).status).toBe(409);
  });
});

describe('debug(): an application that answers with a thenable', () => {
  it('catches its rejection as it catches a rejected Promise', async () => {
    const app: Application = () =>
      thenable(() => {
        throw new Error('a rejected thenable');
      });
    const res = await new TestClient(
      debug({ log: (line) => logs.push(line), errors: { log: () => {} }, secretFile: false })(app),
    ).get('/', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-error-id')).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('debug(): locals captured at throw time', () => {
  const localsOf = (path: string) => localsAfterPin(make(), path);

  it('captures the locals of the throwing frame and its caller', async () => {
    const locals = await localsOf('/sync');
    expect(locals[0]).toMatchObject({ order: '{ id: 7 }', secret: "'sauce-7'" });
  });

  it("never shows the debugger's own frames' locals (its PIN and token)", async () => {
    // (The PIN is searched for in the debugger's variables, not in the whole page: this test
    // file keeps the log lines, PIN included, in a variable of its own, which is shown.)
    const client = await unlocked();
    const json = (await client.get('/sync', { headers: { accept: 'application/json' } })).json<{
      error: { frames: { kind: string; file: string }[] };
    }>();
    const locals = await localsAfterPin(client, '/sync');
    const dir = fileURLToPath(new URL('../../../middleware/debug/', import.meta.url));
    const own = json.error.frames.filter((f) => f.file.startsWith(dir));
    expect(own.length).toBeGreaterThan(0);
    for (const frame of own) expect(frame.kind).toBe('internal');
    for (const frame of locals) {
      for (const name of ['pin', 'pinCookieValue', 'kept', 'failures'])
        expect(frame ?? {}).not.toHaveProperty(name);
    }
  });

  it('captures locals in a frame that runs after its last await', async () => {
    const locals = await localsOf('/async');
    expect(locals[0]).toMatchObject({ secret: "'sauce-19'" });
    expect(locals[1]).toMatchObject({
      before: "'before the await'",
      after: '{ list: [ 1, 2, 3 ] }',
    });
  });
});

describe('debug(): the console', () => {
  const origin = 'http://localhost';
  const headersFor = (token: string) => ({
    'x-mortar-debug-token': token,
    origin,
    'content-type': 'application/json',
  });

  async function failingPage(client: TestClient) {
    const res = await client.get('/sync', { headers: { accept: 'text/html' } });
    return { id: res.headers.get('x-error-id')! };
  }

  async function consoleOf(options: DebugOptions = {}) {
    const client = make(options);
    const { id } = await failingPage(client);
    const pin = await unlock(client);
    expect(pin.json()).toEqual({ ok: true, text: 'unlocked' });
    const page = (
      await client.get(`/__debug__/error/${id}`, { headers: { accept: 'text/html' } })
    ).text();
    const token = /"token":"([0-9a-f]{64})"/.exec(page)![1]!;
    const run = (expression: string, frame = 0, errorId = id) =>
      client.post('/__debug__/console', {
        headers: headersFor(token),
        json: { id: errorId, frame, expression },
      });
    return { client, token, id, run, pinResponse: pin };
  }

  it('evaluates against the frame locals, $err, $request and $environ', async () => {
    const { run } = await consoleOf();
    expect((await run('secret.toUpperCase()')).json()).toEqual({ ok: true, text: "'SAUCE-7'" });
    expect(
      (await run('$err.name + " " + $request.method + " " + $environ.pathInfo')).json(),
    ).toEqual({
      ok: true,
      text: "'RangeError GET /sync'",
    });
  });

  it('keeps assignments for the frame, supports await, reports thrown errors, times out', async () => {
    const { run } = await consoleOf({ consoleTimeout: 200 });
    await run('total = order.id * 6');
    expect((await run('total')).json()).toEqual({ ok: true, text: '42' });
    expect((await run('await Promise.resolve(total + 1)')).json()).toEqual({
      ok: true,
      text: '43',
    });
    expect((await run('null.x')).json()).toMatchObject({
      ok: false,
      text: expect.stringMatching(/^TypeError/),
    });
    expect((await run('await new Promise(() => {})')).json()).toEqual({
      ok: false,
      text: 'Error: timed out after 200 ms',
    });
  });

  it('makes an unknown name a ReferenceError, while locals, globals and new names resolve', async () => {
    const { run } = await consoleOf();
    expect((await run('nosuchvar')).json()).toEqual({
      ok: false,
      text: 'ReferenceError: nosuchvar is not defined',
    });
    expect((await run('secrt.length')).json()).toMatchObject({
      text: expect.stringMatching(/^ReferenceError: secrt/),
    });
    expect((await run('Math.max(order.id, 3)')).json()).toEqual({ ok: true, text: '7' });
    expect((await run('undefined')).json()).toEqual({ ok: true, text: 'undefined' });
    await run('fresh = 5');
    expect((await run('fresh + 1')).json()).toEqual({ ok: true, text: '6' });
    expect('fresh' in globalThis).toBe(false);
  });

  it('sets the PIN cookie HttpOnly, SameSite=Strict, for 8 hours, on the whole application', async () => {
    const { pinResponse } = await consoleOf();
    const cookie = pinResponse.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(
      /^mortar_debug_[0-9a-f]{8}=\d+\.[\w-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Strict$/,
    );
  });

  it('refuses GET, a missing or wrong token, another Origin, and a cross-site fetch', async () => {
    const { client, token, id } = await consoleOf();
    const body = { id, frame: 0, expression: '1 + 1' };
    expect((await client.get('/__debug__/console')).status).toBe(405);
    expect(
      (await client.post('/__debug__/console', { json: body, headers: { origin } })).status,
    ).toBe(403);
    const wrong = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
    expect(
      (await client.post('/__debug__/console', { json: body, headers: headersFor(wrong) })).status,
    ).toBe(403);
    const evil = { ...headersFor(token), origin: 'http://evil.example' };
    expect((await client.post('/__debug__/console', { json: body, headers: evil })).status).toBe(
      403,
    );
    const noOrigin = { 'x-mortar-debug-token': token };
    expect(
      (await client.post('/__debug__/console', { json: body, headers: noOrigin })).status,
    ).toBe(403);
    const crossSite = { ...headersFor(token), 'sec-fetch-site': 'cross-site' };
    expect(
      (await client.post('/__debug__/console', { json: body, headers: crossSite })).status,
    ).toBe(403);
  });

  it('asks for the PIN first, and refuses the console to an untrusted Host', async () => {
    const { token } = await consoleOf();
    const client = make(); // another browser: it has no unlock cookie
    const { id } = await failingPage(client);
    const res = await client.post('/__debug__/console', {
      headers: headersFor(token),
      json: { id, frame: 0, expression: '1' },
    });
    expect(res.status).toBe(401);
    const untrusted = make({}, 'http://evil.example');
    const blocked = await untrusted.post('/__debug__/console', {
      headers: { ...headersFor(token), origin: 'http://evil.example' },
      json: { id, frame: 0, expression: '1' },
    });
    expect(blocked.status).toBe(404);
  });

  it('locks the console after 10 wrong PINs, even for the right one', async () => {
    const client = make();
    const { id } = await failingPage(client);
    for (let i = 0; i < 10; i++) {
      const res = await client.post('/__debug__/pin', {
        headers: { origin },
        json: { pin: '000-000-000', id },
      });
      expect(res.status).toBe(403);
    }
    const right = await unlock(client);
    expect(right.status).toBe(403);
    expect(right.json()).toMatchObject({ ok: false, text: expect.stringMatching(/locked/) });
  });

  it('keeps a bounded number of errors, and answers "expired" for one dropped or too old', async () => {
    const { client, run, id: first } = await consoleOf({ maxErrors: 2 });
    await client.get('/sync');
    await client.get('/sync');
    const dropped = await run('1', 0, first);
    expect(dropped.status).toBe(410);
    expect(dropped.json()).toMatchObject({ ok: false, text: expect.stringMatching(/^expired/) });

    vi.useFakeTimers({ toFake: ['Date'] });
    const recent = (await client.get('/sync', { headers: { accept: 'application/json' } })).json<{
      id: string;
    }>().id;
    expect((await run('1', 0, recent)).status).toBe(200);
    vi.setSystemTime(Date.now() + 3601_000);
    expect((await run('1', 0, recent)).status).toBe(410);
  });
});
