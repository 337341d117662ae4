import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { proxy as fetchProxy, fetchTransport } from '../../../middleware/proxy/index.js';
import { proxy } from '../../../middleware/proxy/node.js';
import { urlmap } from '../../../middleware/urlmap/index.js';
import { describeWithOpenssl, selfSignedCertificate } from '../../helpers/tls.js';
import { front, get, lines, upstream } from './fixture.js';

const runTls = describeWithOpenssl('the TLS proxy tests');

runTls('an https upstream', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mortar-proxy-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A self-signed certificate for 127.0.0.1, made with openssl for this run. */
  function selfSigned(): { key: string; cert: string } {
    const { key, cert } = selfSignedCertificate(dir);
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  }

  it('is refused (502) when its certificate is self-signed and no CA is given; served with it', async () => {
    const { key, cert } = selfSigned();
    const server = https.createServer({ key, cert }, (_req, res) => res.end('secret data'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const log = lines();
      const strict = await front(urlmap({ '/api': proxy(`${origin}/v1`, { log: log.log }) }));
      const refused = await get(`${strict.url}api/x`);
      expect(refused.status).toBe(502);
      expect(refused.body.toString()).not.toContain('secret data');
      expect(log.lines[0]).toMatch(/self[- ]signed/i);
      const trusting = await front(urlmap({ '/api': proxy(`${origin}/v1`, { ca: cert }) }));
      const served = await get(`${trusting.url}api/x`);
      expect(served.status).toBe(200);
      expect(served.body.toString()).toBe('secret data');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('the fetch transport', () => {
  it('proxies the path, never follows a redirect, and rewrites it', async () => {
    const { origin } = await upstream((req, res) => {
      if (req.url === '/v1/go') {
        res.writeHead(302, { location: '/v1/there' });
        res.end();
      } else res.end(`saw ${req.url} ${req.headers['x-forwarded-prefix']}`);
    });
    const server = await front(
      urlmap({ '/api': fetchProxy(`${origin}/v1`, { transport: fetchTransport() }) }),
    );
    expect((await get(`${server.url}api/a%20b?q=1`)).body.toString()).toBe(
      'saw /v1/a%20b?q=1 /api',
    );
    const moved = await get(`${server.url}api/go`);
    expect(moved.status).toBe(302);
    expect(moved.headers.location).toBe('/api/there');
  });

  it('drops Content-Encoding and Content-Length from a body fetch decoded', async () => {
    const text = 'y'.repeat(20_000);
    const { origin } = await upstream((_req, res) => {
      const packed = gzipSync(text);
      res.writeHead(200, {
        'content-encoding': 'gzip',
        'content-length': packed.length,
        'content-type': 'text/plain',
      });
      res.end(packed);
    });
    const server = await front(urlmap({ '/api': fetchProxy(`${origin}/v1`) }));
    const res = await get(`${server.url}api/x`, { 'accept-encoding': 'gzip' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.toString()).toBe(text);
  });
});
