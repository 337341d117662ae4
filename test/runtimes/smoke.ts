// The platform-only part of mortar on a runtime that is not Node: run by test/e2e/runtimes
// with Deno and Bun. It imports only the platform-only entries (compose, HTTPError, environ
// slots, toFetchHandler, urlmap, hello, session with memory and cookie stores, TestClient)
// and exits non-zero, naming the check, at the first one that fails.
import { helloWorld } from '../../middleware/hello/index.js';
import { CookieStore, getSession, MemoryStore, session } from '../../middleware/session/index.js';
import { cascade, urlmap } from '../../middleware/urlmap/index.js';
import {
  type Application,
  compose,
  defineEnvironKey,
  FastResponse,
  HTTPError,
  toFetchHandler,
} from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

const SECRET = 'a-runtime-smoke-test-secret-0123456789';
let passed = 0;
async function check(name: string, run: () => Promise<boolean> | boolean): Promise<void> {
  let ok = false;
  try {
    ok = await run();
  } catch (error) {
    console.error(`not ok: ${name}: ${error instanceof Error ? error.stack : String(error)}`);
    throw error;
  }
  if (!ok) {
    console.error(`not ok: ${name}`);
    throw new Error(name);
  }
  passed++;
}

const user = defineEnvironKey<string>('user', 'the smoke test');
const echo: Application = (request, environ) =>
  FastResponse.json({
    scriptName: environ.scriptName,
    pathInfo: environ.pathInfo,
    url: request.url,
  });
const counter = (store: MemoryStore | CookieStore) =>
  compose(session({ secret: SECRET, store }))(async (_request, environ) => {
    const s = await getSession<{ n: number }>(environ);
    s.set('n', (s.get('n') ?? 0) + 1);
    return new FastResponse(String(s.get('n')));
  });
const site = compose(helloWorld({ path: '/hello' }))(
  urlmap({
    '/': echo,
    '/api': echo,
    '/teapot': () => {
      throw new HTTPError(418, { body: 'short and stout' });
    },
    '/user': (_request, environ) => new FastResponse(user.get(user.with(environ, 'ann'))),
    '/memory': counter(new MemoryStore()),
    '/cookie': counter(new CookieStore()),
    '/cascade': cascade([() => new FastResponse('no', { status: 404 }), echo]),
  }),
);

try {
  const client = new TestClient(site);
  await check('hello', async () => (await client.get('/hello')).text() === 'Hello, world!\n');
  await check('urlmap shifts the environ', async () => {
    const seen = (await client.get('/api/x?y=1')).json<{
      scriptName: string;
      pathInfo: string;
      url: string;
    }>();
    return (
      seen.scriptName === '/api' && seen.pathInfo === '/x' && seen.url === 'http://localhost/x?y=1'
    );
  });
  await check('HTTPError', async () => (await client.get('/teapot')).status === 418);
  await check('environ slots', async () => (await client.get('/user')).text() === 'ann');
  await check('cascade', async () => (await client.get('/cascade/z')).status === 200);
  for (const store of ['memory', 'cookie']) {
    await check(`session (${store} store)`, async () => {
      const c = new TestClient(site);
      await c.get(`/${store}/`);
      return (await c.get(`/${store}/`)).text() === '2';
    });
  }
  await check('toFetchHandler', async () => {
    const res = await toFetchHandler(site)(new Request('http://localhost/api/q'), {});
    return (await res.json()).pathInfo === '/q';
  });
  await check('a direct call names toFetchHandler', async () => {
    try {
      await site(new Request('http://localhost/'), {} as never);
      return false;
    } catch (error) {
      return String(error).includes('toFetchHandler');
    }
  });
  console.log(`ok: ${passed} checks`);
} catch {
  (globalThis as { process?: { exit(code: number): never } }).process?.exit(1);
  throw new Error('smoke test failed');
}
