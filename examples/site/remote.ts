/**
 * A service in "another process" for the demo, mounted with `proxy()` at `/remote`: a plain
 * node:http server on a free loopback port (as a legacy app on another port would be),
 * started on the first request. Its paths live under `/v1`; the proxy maps `/remote/x` to
 * `/v1/x`, adds `X-Forwarded-*`, and rewrites its redirect to the mount.
 *
 * The demo uses `mortar/proxy`'s fetch transport, so it runs on Deno and Bun as well; a Node
 * deployment would import `proxy` from `mortar/proxy/node` (undici, bodies byte for byte).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxy } from '../../middleware/proxy/index.js';
import { type Application, escapeHTML } from '../../src/index.js';

function remoteService(): http.Server {
  return http.createServer((req, res) => {
    if (req.url === '/v1/go') {
      res.writeHead(302, { location: '/v1/' }).end();
      return;
    }
    const seen = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix']
      .map(
        (name) =>
          `<tr><th>${name}</th><td><code>${escapeHTML(String(req.headers[name]))}</code></td></tr>`,
      )
      .join('\n');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>remote service</title></head>
<body><h1>A remote service</h1>
<p>This page comes from a plain node:http server on another port, through <code>proxy()</code>.
It saw <code>${escapeHTML(`${req.method} ${req.url}`)}</code> and:</p>
<table>${seen}</table>
<p><a href="go">a redirect</a> (to <code>/v1/</code>, rewritten to the mount)</p>
</body></html>
`);
  });
}

let mounted: Promise<Application> | undefined;

async function start(): Promise<Application> {
  const server = remoteService();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref(); // the demo's shutdown does not wait for it
  return proxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
}

/** The remote service, mounted: starts it on the first request. */
export const remoteApp: Application = async (request, environ) => {
  mounted ??= start();
  return (await mounted)(request, environ);
};
