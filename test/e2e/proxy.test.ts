/**
 * `mortar serve --proxy-headers --access-log-format json` behind real nginx, configured as
 * docs/deploy.md's reverse-proxy block (with `X-Forwarded-Proto https`, what a TLS server's
 * `$scheme` gives).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FrontEnd,
  frontEndsAvailable,
  frontEndsSkipReason,
  startNginx,
  workspace,
} from '../helpers/frontends.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin/mortar.js');
const run = frontEndsAvailable || process.env.CI ? describe : describe.skip;
if (!frontEndsAvailable && !process.env.CI)
  console.warn(`skipping proxy tests: ${frontEndsSkipReason}`);

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      http
        .get(url, { headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    },
  );
}

run('behind nginx with --proxy-headers', () => {
  let mortar: ChildProcess;
  let frontEnd: FrontEnd;
  let remove: () => void;
  let stderr = '';

  beforeAll(async () => {
    const space = workspace();
    remove = space.remove;
    mortar = spawn(
      process.execPath,
      [
        bin,
        'serve',
        'test/fixtures/proxied-app.ts',
        '--port',
        '0',
        '--proxy-headers',
        '--access-log-format',
        'json',
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    mortar.stderr!.on('data', (c) => {
      stderr += c;
    });
    let url: string | undefined;
    for (let i = 0; i < 400 && !url; i++) {
      url = / on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (!url) await new Promise((r) => setTimeout(r, 25));
    }
    if (!url) throw new Error(`mortar serve did not start:\n${stderr}`);
    const upstream = new URL(url).host;
    frontEnd = await startNginx(space.dir, [
      `LISTEN location / {
        proxy_pass http://${upstream};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto https;
        proxy_set_header X-Request-Id $request_id;
      }`,
    ]);
  }, 30_000);

  afterAll(async () => {
    await frontEnd?.stop();
    mortar?.kill('SIGTERM');
    remove?.();
  });

  it('gives the session cookie Secure, https URLs, the client address, and logs one JSON line', async () => {
    const res = await get(`${frontEnd.urls[0]}/cart?x=1`, { 'x-forwarded-for': '203.0.113.9' });
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']?.[0]).toMatch(/; Secure/i);
    const seen = JSON.parse(res.body) as { url: string; remoteAddress: string; requestId: string };
    expect(seen.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/cart\?x=1$/);
    // nginx appended the address it saw; the client's own X-Forwarded-For is not believed
    expect(seen.remoteAddress).toBe('127.0.0.1');
    expect(seen.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers['x-request-id']).toBe(seen.requestId);
    for (let i = 0; i < 100 && !stderr.includes(seen.requestId); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const line = stderr.split('\n').find((l) => l.includes(seen.requestId))!;
    expect(JSON.parse(line)).toMatchObject({
      method: 'GET',
      target: '/cart?x=1',
      status: 200,
      remoteAddress: '127.0.0.1',
      aborted: false,
    });
  });
});
