/**
 * debug() behind real nginx on the same host, proxying to loopback: every visitor then has a
 * loopback peer, and (nginx's default `Host: 127.0.0.1:PORT`, or `$http_host` with a visitor
 * who sends `Host: localhost`) a loopback Host and no forwarding header. A visitor must get the
 * plain page — no source, message, request or environ.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { debug } from '../../middleware/debug/index.js';
import { type Server, serve } from '../../src/gateways/node/index.js';
import type { Application } from '../../src/index.js';
import {
  type FrontEnd,
  frontEndsAvailable,
  frontEndsSkipReason,
  startNginx,
  workspace,
} from '../helpers/frontends.js';
import { closeNow } from '../helpers/net.js';

const run = frontEndsAvailable ? describe : describe.skip;
if (!frontEndsAvailable) console.warn(`skipping debug proxy tests: ${frontEndsSkipReason}`);

function checkout(): never {
  const stripeKey = 'sk_live_from_the_source';
  throw new TypeError(`charge refused for key ${stripeKey.slice(0, 7)}`);
}
const app: Application = () => checkout();

function get(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string; id: string }>((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, body, id: String(res.headers['x-error-id']) }),
        );
      })
      .on('error', reject);
  });
}

run('debug() behind nginx proxy_pass to loopback', () => {
  const space = workspace();
  let server: Server;
  let nginx: FrontEnd;
  beforeAll(async () => {
    vi.stubEnv('XDG_CACHE_HOME', space.dir); // the debugger's secret file goes here
    server = await serve(debug({ log: () => {} })(app), {
      port: 0,
      handleSignals: false,
      announce: false,
    });
    const upstream = server.url.replace(/\/$/, '');
    nginx = await startNginx(space.dir, [
      `LISTEN location / { proxy_pass ${upstream}; }`,
      `LISTEN location / { proxy_pass ${upstream}; proxy_set_header Host $http_host; }`,
    ]);
  }, 60_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await nginx?.stop();
    if (server) await closeNow(server);
    space.remove();
  });

  const cases = [
    ['the default proxy_pass (Host: 127.0.0.1:PORT)', 0, {}],
    ['Host $http_host, a visitor sending Host: localhost', 1, { host: 'localhost' }],
  ] as const;
  for (const [what, index, headers] of cases) {
    for (const accept of ['text/html', 'application/json', 'text/plain']) {
      it(`gives a visitor the plain page: ${what}, ${accept}`, async () => {
        const res = await get(`${nginx.urls[index]}/pay?card=4242`, { ...headers, accept });
        expect(res.status).toBe(500);
        expect(res.body).not.toMatch(/charge refused|TypeError|sk_live|stripeKey|checkout/);
        expect(res.body).not.toMatch(/debug-proxy|\/pay|4242|pathInfo|remoteAddress|127\.0\.0/);
        expect(res.body).toContain(`Error id: ${res.id}`);
      });
    }
  }
});
