// The platform-only middlewares that test/runtimes/smoke.ts does not cover, on a runtime that
// is not Node (run by test/e2e/runtimes with Deno and Bun): compress, csrf, body-limit,
// proxy-fix and access-log through the test client. Exits non-zero naming the first check
// that fails.
import { accessLog } from '../../middleware/access-log/index.js';
import { bodyLimit } from '../../middleware/body-limit/index.js';
import { compress } from '../../middleware/compress/index.js';
import { csrf } from '../../middleware/csrf/index.js';
import { proxyFix } from '../../middleware/proxy-fix/index.js';
import { session } from '../../middleware/session/index.js';
import { type Application, compose, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

const text = 'a body long enough to be worth compressing. '.repeat(40);
const echo: Application = async (request, environ) =>
  new FastResponse(
    request.method === 'POST' ? await request.text() : `${environ.remoteAddress} ${text}`,
    { headers: { 'content-type': 'text/plain' } },
  );
const lines: string[] = [];
const app = compose(
  accessLog({ write: (line) => lines.push(line) }),
  proxyFix(),
  compress(),
  session({ secret: 'a-runtime-smoke-test-secret-0123456789' }),
  csrf(),
)(echo);
const client = new TestClient(app);
const limited = new TestClient(bodyLimit({ maxBytes: 16 })(echo));

const gunzip = (bytes: Uint8Array): Promise<string> =>
  new Response(
    new Blob([bytes as Uint8Array<ArrayBuffer>])
      .stream()
      .pipeThrough(new DecompressionStream('gzip')),
  ).text();

const checks: [string, () => Promise<boolean>][] = [
  [
    'compress',
    async () => {
      const res = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
      return (
        res.headers.get('content-encoding') === 'gzip' && (await gunzip(res.bytes())).endsWith(text)
      );
    },
  ],
  [
    'proxy-fix',
    async () => {
      const res = await client.get('/', { headers: { 'x-forwarded-for': '198.51.100.7' } });
      return res.text().startsWith('198.51.100.7 ');
    },
  ],
  ['csrf', async () => (await client.post('/', { body: 'x' })).status === 403],
  [
    'body-limit',
    async () =>
      (await limited.post('/', { body: 'x'.repeat(16) })).text() === 'x'.repeat(16) &&
      (await limited.post('/', { body: 'x'.repeat(17) })).status === 413,
  ],
  ['access-log', async () => lines.some((line) => /"GET \/ HTTP\/1\.1" 200 /.test(line))],
];

const exit = (globalThis as { process?: { exit(code: number): never } }).process?.exit;
for (const [name, run] of checks) {
  let ok = false;
  try {
    ok = await run();
  } catch (error) {
    console.error(`not ok: ${name}: ${error instanceof Error ? error.stack : String(error)}`);
  }
  if (!ok) {
    console.error(`not ok: ${name} ${JSON.stringify(lines)}`);
    exit?.(1);
  }
}
console.log(`ok: ${checks.length} middleware checks`);
