// Issue 11 §1: a mortar application as the fetch handler a runtime calls, and a clear error
// when a runtime calls it directly.
import { describe, expect, it, vi } from 'vitest';
import { debug } from '../middleware/debug/index.js';
import { helloWorld } from '../middleware/hello/index.js';
import { serveStatic } from '../middleware/static/index.js';
import { cascade, urlmap } from '../middleware/urlmap/index.js';
import { webSocket } from '../middleware/websocket/index.js';
import {
  type Application,
  FastResponse,
  fetchRuntime,
  getBunServer,
  getDenoInfo,
  getWorkersContext,
  getWorkersEnv,
  HTTPError,
  toBunServe,
  toFetchHandler,
  waitUntil,
} from '../src/index.js';
import { TestClient } from '../src/testing/index.js';

const echo: Application = (request, environ) => FastResponse.json({ ...environ, url: request.url });

describe('toFetchHandler', () => {
  it('builds a root environ from the request, with the address Deno gives', async () => {
    const fetch = toFetchHandler(urlmap({ '/app': echo }));
    const info = { remoteAddr: { hostname: '203.0.113.5', port: 4000, transport: 'tcp' } };
    const res = await fetch(new Request('http://example.test/app/caf%C3%A9?x=1'), info);
    expect(await res.json()).toEqual({
      scriptName: '/app',
      pathInfo: '/caf%C3%A9',
      remoteAddress: '203.0.113.5',
      unixSocket: false,
      gateway: 'fetch',
      url: 'http://example.test/caf%C3%A9?x=1',
    });
  });

  it("says a request on Deno's Unix socket came over one (remoteAddr.transport)", async () => {
    const info = { remoteAddr: { transport: 'unix', path: '/run/app.sock' } };
    const res = await toFetchHandler(echo)(new Request('http://localhost/'), info);
    expect(await res.json()).toMatchObject({ unixSocket: true });
  });

  it("takes Bun's server.requestIP(request)", async () => {
    const server = {
      requestIP: (request: Request) => ({ address: request.headers.get('x-test') }),
    };
    const res = await toFetchHandler(echo)(
      new Request('http://localhost/', { headers: { 'x-test': '::1' } }),
      server,
    );
    expect((await res.json()).remoteAddress).toBe('::1');
  });

  it('works as export default { fetch } with Workers-style extras', async () => {
    const worker = { fetch: toFetchHandler(echo) };
    const res = await worker.fetch(
      new Request('https://w.example/x'),
      { KV: {} },
      { waitUntil() {} },
    );
    expect((await res.json()).pathInfo).toBe('/x');
  });

  it('answers an HTTPError as itself, anything else thrown as a logged 500', async () => {
    const throwing: Application = (request) => {
      if (request.url.endsWith('/teapot')) throw new HTTPError(418);
      throw new Error('broken');
    };
    const fetch = toFetchHandler(throwing);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect((await fetch(new Request('http://localhost/teapot'))).status).toBe(418);
      expect(logged).not.toHaveBeenCalled();
      expect((await fetch(new Request('http://localhost/x'))).status).toBe(500);
      expect(logged).toHaveBeenCalledOnce();
      expect(String(logged.mock.calls[0]![0])).toMatch(
        /^mortar: unhandled error in GET http:\/\/localhost\/x: Error: broken/,
      );
    } finally {
      logged.mockRestore();
    }
  });
});

describe('an application called the way a runtime calls a fetch handler', () => {
  const denoInfo = { remoteAddr: { hostname: '127.0.0.1' }, completed: Promise.resolve() };
  it.each([
    ['urlmap()', urlmap({ '/': echo })],
    ['cascade()', cascade([echo])],
    ['debug()', debug({ capture: false, secretFile: false })(echo)],
    ['helloWorld()', helloWorld()(echo)],
    ['serveStatic()', serveStatic('.')(echo)],
  ])('%s fails with a message that names toFetchHandler', async (who, app) => {
    const call = async () => app(new Request('http://localhost/'), denoInfo as never);
    await expect(call()).rejects.toThrow(
      new RegExp(
        `${who.replace(/[()]/g, '\\$&')} was called without a mortar environ .*toFetchHandler\\(app\\)`,
      ),
    );
    await expect(call()).rejects.not.toThrow(/startsWith/);
  });
});

describe("the runtime's extras on the environ (issue 22 §2)", () => {
  const extras: Application = (_request, environ) => {
    const runtime = fetchRuntime(environ);
    const read = (get: () => unknown) => {
      try {
        return get();
      } catch (error) {
        return `throws: ${(error as Error).message}`;
      }
    };
    return FastResponse.json({
      name: runtime?.name ?? null,
      env: read(() => getWorkersEnv<{ GREETING: string }>(environ).GREETING),
      ctx: read(() => typeof getWorkersContext(environ).passThroughOnException),
      deno: read(() => getDenoInfo(environ).remoteAddr.transport),
      bun: read(() => getBunServer(environ).requestIP(new Request('http://x/'))?.address),
    });
  };
  const handler = toFetchHandler(urlmap({ '/mounted': extras }));
  const get = async (...runtime: unknown[]) =>
    (await handler(new Request('http://localhost/mounted/x'), ...runtime)).json();

  it("keeps Workers' env and ctx, under a mount too", async () => {
    const ctx = { waitUntil() {}, passThroughOnException() {} };
    expect(await get({ GREETING: 'hi' }, ctx)).toEqual({
      name: 'workers',
      env: 'hi',
      ctx: 'function',
      deno: expect.stringMatching(
        /^throws: Deno's ServeHandlerInfo is only there on Deno: this request came from Cloudflare Workers/,
      ),
      bun: expect.stringMatching(/^throws: Bun's server is only there on Bun/),
    });
  });

  it("keeps Deno's info and Bun's server", async () => {
    const info = { remoteAddr: { transport: 'tcp', hostname: '::1', port: 1 }, completed: null };
    expect(await get(info)).toMatchObject({ name: 'deno', deno: 'tcp' });
    const server = { requestIP: () => ({ address: '192.0.2.1', family: 'IPv4', port: 2 }) };
    expect(await get(server)).toMatchObject({
      name: 'bun',
      bun: '192.0.2.1',
      env: expect.stringMatching(/^throws: Workers' env is only there on Cloudflare Workers/),
    });
  });

  it('says which middleware is missing where no runtime called toFetchHandler', async () => {
    const res = await new TestClient(extras).get('/');
    expect(res.json()).toMatchObject({
      name: null,
      env: expect.stringMatching(
        /^throws: no fetch runtime in this environ: wrap .*toFetchHandler/,
      ),
    });
  });
});

describe('waitUntil(environ, promise)', () => {
  it("hands the work to Workers' ctx.waitUntil, a rejection logged as one line", async () => {
    const given: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => given.push(p), passThroughOnException() {} };
    const app: Application = (_request, environ) => {
      waitUntil(environ, Promise.reject(new Error('flush failed')));
      return new FastResponse('ok');
    };
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await toFetchHandler(app)(new Request('http://localhost/'), {}, ctx);
      expect(given).toHaveLength(1);
      await expect(given[0]).resolves.toBeUndefined();
      expect(String(logged.mock.calls[0]?.[0])).toMatch(
        /^mortar: a task given to waitUntil\(\) failed: Error: flush failed/,
      );
    } finally {
      logged.mockRestore();
    }
  });

  it('holds the work elsewhere and logs a rejection, never an unhandled one', async () => {
    let finish!: () => void;
    const app: Application = (_request, environ) => {
      waitUntil(environ, new Promise<void>((resolve) => (finish = resolve)));
      waitUntil(environ, Promise.reject(new Error('touch failed')));
      return new FastResponse('ok');
    };
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect((await new TestClient(app).get('/')).text()).toBe('ok');
      await vi.waitFor(() => expect(logged).toHaveBeenCalledOnce());
      expect(String(logged.mock.calls[0]![0])).toMatch(/waitUntil\(\) failed: Error: touch failed/);
      finish();
    } finally {
      logged.mockRestore();
    }
  });

  it('refuses what is not an environ or not a promise', () => {
    const environ = { scriptName: '', pathInfo: '/', gateway: 'test' } as const;
    expect(() => waitUntil(environ, (() => {}) as never)).toThrow(
      /^waitUntil\(\): the second argument must be a promise, got an object of class Function/,
    );
    expect(() => waitUntil({} as never, Promise.resolve())).toThrow(
      /waitUntil\(\) was called without a mortar environ/,
    );
  });
});

describe('toFetchHandler and WebSocket handshakes', () => {
  const handshake = () =>
    new Request('http://localhost/ws', {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      },
    });

  it('gives no environ.websocket where the runtime cannot upgrade, and the 426 says what to do', async () => {
    const seen: unknown[] = [];
    const endpoint = webSocket({});
    const app: Application = (request, environ) => {
      seen.push(environ.websocket);
      return endpoint(request, environ);
    };
    const fetch = toFetchHandler(app);
    // Bun's server, but toFetchHandler alone: Bun.serve has no websocket handlers to upgrade to.
    const bun = { requestIP: () => null, upgrade: () => true };
    const refused = await fetch(handshake(), bun);
    expect(refused.status).toBe(426);
    expect(await refused.text()).toMatch(/on Bun serve with Bun\.serve\(toBunServe\(app\)\)/);
    // Deno's info, on a runtime without Deno.upgradeWebSocket (this is Node).
    const deno = { remoteAddr: { transport: 'tcp', hostname: '127.0.0.1', port: 1 } };
    expect((await fetch(handshake(), deno)).status).toBe(426);
    expect(seen).toEqual([undefined, undefined]);
  });
});

describe('toBunServe(app, settings)', () => {
  it("is Bun.serve's options: the settings, and a fetch that keeps Bun's server", async () => {
    const app: Application = (request, environ) =>
      new FastResponse(getBunServer(environ).requestIP(request)!.address);
    const options = toBunServe(app, { hostname: '127.0.0.1', port: 0 });
    expect(options).toMatchObject({ hostname: '127.0.0.1', port: 0 });
    const server = { requestIP: () => ({ address: '::1', family: 'IPv6', port: 3 }) };
    expect(await (await options.fetch(new Request('http://localhost/'), server))!.text()).toBe(
      '::1',
    );
  });

  it("gives Bun.serve websocket handlers beside Bun's WebSocket settings", () => {
    const options = toBunServe(() => new FastResponse(''), {
      websocket: { maxPayloadLength: 1024, idleTimeout: 5 },
    });
    expect(options.websocket).toMatchObject({ maxPayloadLength: 1024, idleTimeout: 5 });
    for (const event of ['open', 'message', 'close', 'drain', 'ping', 'pong']) {
      expect(typeof options.websocket[event]).toBe('function');
    }
    expect(toBunServe(() => new FastResponse('')).websocket).toMatchObject({ idleTimeout: 30 });
  });

  it('refuses a fetch or websocket handlers of its own, and settings that are no object', () => {
    const app: Application = () => new FastResponse('');
    expect(() => toBunServe(app, { fetch: () => {} })).toThrow(
      /settings\.fetch is not taken — the application is the fetch handler/,
    );
    expect(() => toBunServe(app, { websocket: { message() {} } })).toThrow(
      /settings\.websocket\.message is not taken — the WebSocket hooks are those the application accepts/,
    );
    expect(() => toBunServe(app, { websocket: 30 as never })).toThrow(
      /settings\.websocket must be an object of Bun's WebSocket settings, got 30/,
    );
    expect(() => toBunServe(app, 8000 as never)).toThrow(/settings must be an object, got 8000/);
    expect(() => toBunServe('app' as never)).toThrow(/must be a function, got string/);
  });
});
