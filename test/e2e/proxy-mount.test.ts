/**
 * nginx → mortar (proxyFix, urlmap, proxy) → an app on another port: the mount seen end to
 * end through a real front end, the forwarding chain appended to what nginx said, the
 * upstream's redirect made public.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxy } from '../../middleware/proxy/node.js';
import { proxyFix } from '../../middleware/proxy-fix/index.js';
import { urlmap } from '../../middleware/urlmap/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import { compose, FastResponse } from '../../src/index.js';
import {
  type FrontEnd,
  frontEndsAvailable,
  frontEndsSkipReason,
  startNginx,
  workspace,
} from '../helpers/frontends.js';
import { closeNow } from '../helpers/net.js';

const run = frontEndsAvailable || process.env.CI ? describe : describe.skip;
if (!frontEndsAvailable && !process.env.CI)
  console.warn(`skipping the nginx → proxy tests: ${frontEndsSkipReason}`);

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      http
        .get(url, { headers, agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    },
  );
}

run('nginx → mortar proxy → app', () => {
  let app: http.Server;
  let mortar: Server;
  let frontEnd: FrontEnd;
  let remove: () => void;

  beforeAll(async () => {
    app = http.createServer((req, res) => {
      if (req.url === '/v1/old') {
        res.writeHead(301, { location: '/v1/new' });
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers, body: 'z'.repeat(100_000) }));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(app.address() as AddressInfo).port}/v1`;
    const site = compose(proxyFix({ for: 1, proto: 1 }))(
      urlmap({ '/api': proxy(target), '/': () => new FastResponse('home') }),
    );
    mortar = await serve(site, { port: 0, announce: false, handleSignals: false });
    const space = workspace();
    remove = space.remove;
    frontEnd = await startNginx(space.dir, [
      `LISTEN location / {
        proxy_pass http://${new URL(mortar.url).host};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto https;
      }`,
    ]);
  }, 30_000);

  afterAll(async () => {
    await frontEnd?.stop();
    if (mortar) await closeNow(mortar);
    app?.closeAllConnections();
    app?.close();
    remove?.();
  });

  it('reaches the app at its base path with the chain of forwarding fields', async () => {
    const res = await get(`${frontEnd.urls[0]}/api/users/7?x=1`, {
      'x-forwarded-for': '203.0.113.9',
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as {
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(seen.url).toBe('/v1/users/7?x=1');
    expect(seen.body).toHaveLength(100_000);
    // nginx appended its peer; mortar believed it (loopback) and appended nginx's address.
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-prefix']).toBe('/api');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(frontEnd.urls[0]!).host);
  });

  it("rewrites the app's redirect to the public mount", async () => {
    const res = await get(`${frontEnd.urls[0]}/api/old`);
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/api/new');
  });
});
