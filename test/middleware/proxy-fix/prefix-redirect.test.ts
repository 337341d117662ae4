/**
 * `X-Forwarded-Prefix` from a trusted proxy ends up in redirects built from `scriptName`:
 * static's folder redirect, over real HTTP. A prefix that is not a path must be ignored, or the
 * redirect leaves the site (`Location: //evil.com/src/`).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyFix } from '../../../middleware/proxy-fix/index.js';
import { serveStatic } from '../../../middleware/static/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import { compose, errorResponse } from '../../../src/index.js';

let server: Server;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mortar-prefix-'));
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'src', 'index.html'), 'hello');
  const app = compose(
    proxyFix({ prefix: 1 }),
    serveStatic(dir),
  )((request) => errorResponse(404, request));
  server = await serve(app, { port: 0, announce: false });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The status and Location of `GET /src` with `prefix` as X-Forwarded-Prefix (from loopback). */
function folderRedirect(prefix: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.url}src`, { headers: { 'x-forwarded-prefix': prefix } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, location: res.headers.location });
      })
      .on('error', reject);
  });
}

describe('X-Forwarded-Prefix and the folder redirect', () => {
  it('a path prefix is kept in the redirect', async () => {
    expect(await folderRedirect('/static')).toEqual({ status: 301, location: '/static/src/' });
  });

  it.each([
    '//evil.com',
    '///evil.com',
    '/\\evil.com',
    '/%5Cevil.com',
    '/%2F%2Fevil.com',
    'https://evil.com',
    '/a/%2e%2e',
    '/a%0d%0aSet-Cookie:x=1',
  ])('%s is ignored: the redirect stays on the site', async (prefix) => {
    expect(await folderRedirect(prefix)).toEqual({ status: 301, location: '/src/' });
  });
});
