/**
 * `cache()`'s store key over the HTTP gateway: `prefix + request.url`, which the middleware
 * remembers per request target in this process (so a hit neither builds the URL nor joins and
 * hashes the key afresh). What is remembered must never stand for another URL: another `Host`,
 * another scheme, or a URL a trusted proxy's fields made.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cache } from '../../../middleware/cache/index.js';
import { proxyFix } from '../../../middleware/proxy-fix/index.js';
import { toNodeHandler } from '../../../src/gateways/node/index.js';
import { type Application, compose, FastResponse } from '../../../src/index.js';
import { describeWithOpenssl, selfSignedCertificate } from '../../helpers/tls.js';
import { countingStore, listen, request } from './helpers.js';

/** Answers its own URL, storable for a minute. */
const echoUrl: Application = (r) =>
  new FastResponse(r.url, { headers: { 'cache-control': 'max-age=60' } });

describe('cache(): the store key of a request', () => {
  it('is the URL of each Host: one target on two hosts is two entries, however often asked', async () => {
    const url = await listen(cache()(echoUrl));
    for (let round = 0; round < 3; round++) {
      for (const host of ['a.test', 'b.test']) {
        const reply = await request(`${url}/page?q=1`, { host });
        expect(reply.body).toBe(`http://${host}/page?q=1`);
        if (round > 0) expect(reply.headers['cache-status']).toMatch(/^mortar; hit/);
      }
    }
  });

  it('is the URL a trusted proxy’s fields made, never the one the same target had without them', async () => {
    const { store, reads } = countingStore();
    const url = await listen(compose(proxyFix({ port: 1 }), cache({ store }))(echoUrl));
    const port = new URL(url).port;
    const forwarded = await request(`${url}/page`, { 'x-forwarded-port': '8443' });
    expect(forwarded.body).toBe('http://127.0.0.1:8443/page');
    for (let i = 0; i < 2; i++) {
      const direct = await request(`${url}/page`);
      expect(direct.body).toBe(`http://127.0.0.1:${port}/page`);
    }
    const again = await request(`${url}/page`, { 'x-forwarded-port': '8443' });
    expect(again.body).toBe('http://127.0.0.1:8443/page');
    expect(again.headers['cache-status']).toMatch(/^mortar; hit/);
    expect(new Set(reads)).toEqual(
      new Set([`mortar:http:http://127.0.0.1:8443/page`, `mortar:http:${url}/page`]),
    );
  });
});

const runTls = describeWithOpenssl('the TLS cache-key test');

runTls('cache(): the store key on TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-cache-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is https: for a request on TLS, though one middleware also answers the same target and Host in the clear', async () => {
    const files = selfSignedCertificate(dir);
    const handler = toNodeHandler(cache()(echoUrl));
    const plain = http.createServer(handler);
    const secure = https.createServer(
      { key: readFileSync(files.key), cert: readFileSync(files.cert) },
      handler,
    );
    await Promise.all(
      [plain, secure].map((s) => new Promise<void>((done) => s.listen(0, '127.0.0.1', done))),
    );
    const get = (client: typeof http | typeof https, server: http.Server) =>
      new Promise<{ body: string; status: string | undefined }>((resolve, reject) => {
        client
          .get(
            {
              host: '127.0.0.1',
              port: (server.address() as AddressInfo).port,
              path: '/page',
              headers: { host: 'site.test' },
              agent: false,
              rejectUnauthorized: false,
            },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                body += chunk;
              });
              res.on('end', () =>
                resolve({ body, status: res.headers['cache-status'] as string | undefined }),
              );
            },
          )
          .on('error', reject);
      });
    try {
      for (let round = 0; round < 2; round++) {
        expect((await get(http, plain)).body).toBe('http://site.test/page');
        const overTls = await get(https, secure);
        expect(overTls.body).toBe('https://site.test/page');
        if (round > 0) expect(overTls.status).toMatch(/^mortar; hit/);
      }
    } finally {
      for (const server of [plain, secure]) {
        server.closeAllConnections();
        server.close();
      }
    }
  });
});
