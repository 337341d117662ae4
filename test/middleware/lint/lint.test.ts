import { describe, expect, it } from 'vitest';
import { LintError, lint } from '../../../middleware/lint/index.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { type Application, compose, type Environ, FastResponse } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { closeNow } from '../../helpers/net.js';

async function findings(app: Application, method = 'GET', path = '/x', environ?: Partial<Environ>) {
  const lines: string[] = [];
  const linted = lint({ write: (line) => lines.push(line) })(app);
  const env = { scriptName: '', pathInfo: path, gateway: 'test' as const, ...environ };
  const res = await linted(new Request(`http://localhost${path}`, { method }), env);
  try {
    if (res instanceof Response) await res.arrayBuffer();
  } catch {
    // a body a native Response refuses (204 with a body): the finding is what matters
  }
  return lines;
}

describe('lint', () => {
  it('says nothing about an application that keeps the rules, mounted or not', async () => {
    expect(await findings(() => new Response('ok'))).toEqual([]);
    const lines: string[] = [];
    const app = compose(lint({ write: (l) => lines.push(l) }))(
      urlmap({ '/m': lint({ write: (l) => lines.push(l) })(() => new FastResponse('m')) }),
    );
    expect(await (await new TestClient(app).get('/m/a?b=1')).text()).toBe('m');
    expect(lines).toEqual([]);
  });

  it('finds an environ that breaks the rules, and a request that was not rebased', async () => {
    expect(
      (await findings(() => new Response('ok'), 'GET', '/x', { scriptName: '/a/' }))[0],
    ).toMatch(/^mortar lint \[environ\] GET \/a\/\/x: scriptName "\/a\/"/);
    expect((await findings(() => new Response('ok'), 'GET', '/x', { pathInfo: 'x' }))[0]).toMatch(
      /\[environ\].*pathInfo "x"/,
    );
    expect((await findings(() => new Response('ok'), 'GET', '/x', { pathInfo: '/y' }))[0]).toMatch(
      /the request URL's path \/x is not pathInfo "\/y"/,
    );
  });

  it('finds results, bodies, lengths, headers and cookies that break HTTP', async () => {
    expect((await findings((() => 'text') as unknown as Application))[0]).toMatch(
      /\[result\].*returned string/,
    );
    expect(
      (await findings(() => new Response('x', { status: 200, headers: {} }), 'HEAD'))[0],
    ).toMatch(/\[no-body\].*HEAD/);
    expect((await findings(() => new FastResponse('x', { status: 204 })))[0]).toMatch(
      /\[no-body\] .*204/,
    );
    expect(
      (await findings(() => new FastResponse('abc', { headers: { 'content-length': '5' } })))[0],
    ).toMatch(/\[content-length\].*Content-Length 5 but the body has 3 bytes/);
    const streamed = () =>
      new Response(new Blob(['abcd']).stream(), { headers: { 'content-length': '9' } });
    expect((await findings(streamed))[0]).toMatch(/streamed 4 bytes/);
    expect(
      (await findings(() => new FastResponse('x', { headers: { location: '/a\r\nx: y' } })))[0],
    ).toMatch(/\[headers\]/);
    expect(
      (await findings(() => new FastResponse('x', { headers: { 'set-cookie': '=nonsense' } })))[0],
    ).toMatch(/\[headers\] .*Set-Cookie "=nonsense" does not parse/);
  });

  it('names a body read twice, and a response after the client left', async () => {
    const twice: Application = async (request) => {
      await request.text();
      await request.text();
      return new Response('no');
    };
    const lines: string[] = [];
    await expect(
      lint({ write: (l) => lines.push(l) })(twice)(
        new Request('http://localhost/', { method: 'POST', body: 'a' }),
        {
          scriptName: '',
          pathInfo: '/',
          gateway: 'test',
        },
      ),
    ).rejects.toThrow(TypeError);
    expect(lines[0]).toMatch(/\[body-reuse\]/);
    const controller = new AbortController();
    const late: Application = () => {
      controller.abort();
      return new Response('late');
    };
    const request = new Request('http://localhost/', { signal: controller.signal });
    const seen: string[] = [];
    await lint({ write: (l) => seen.push(l) })(late)(request, {
      scriptName: '',
      pathInfo: '/',
      gateway: 'test',
    });
    expect(seen[0]).toMatch(/\[aborted\]/);
  });

  it('throws a LintError in strict mode, which the gateway answers as a 500', async () => {
    const app = lint({ strict: true })(() => new FastResponse('x', { status: 204 }));
    await expect(
      app(new Request('http://localhost/'), { scriptName: '', pathInfo: '/', gateway: 'test' }),
    ).rejects.toBeInstanceOf(LintError);
    const server: Server = await serve(app, { port: 0, announce: false, log: () => {} });
    try {
      expect((await fetch(server.url)).status).toBe(500);
    } finally {
      await closeNow(server);
    }
  });
});
