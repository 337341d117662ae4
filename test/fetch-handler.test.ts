// Issue 11 §1: a mortar application as the fetch handler a runtime calls, and a clear error
// when a runtime calls it directly.
import { describe, expect, it, vi } from 'vitest';
import { debug } from '../middleware/debug/index.js';
import { helloWorld } from '../middleware/hello/index.js';
import { serveStatic } from '../middleware/static/index.js';
import { cascade, urlmap } from '../middleware/urlmap/index.js';
import { type Application, FastResponse, HTTPError, toFetchHandler } from '../src/index.js';

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
