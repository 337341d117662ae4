/**
 * The cache tests' server and client: the application behind `cache()` served by mortar's HTTP
 * gateway on loopback, and requests over node:http (the global fetch would add `no-cache` to
 * conditional requests).
 */
import http from 'node:http';
import { afterEach } from 'vitest';
import { MemoryCacheStore } from '../../../middleware/cache/index.js';
import { type Server, serve } from '../../../src/gateways/node/index.js';
import type { Application } from '../../../src/index.js';
import { closeNow } from '../../helpers/net.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeNow));
});

/** Serves `app` on a free loopback port; its origin (no trailing `/`), closed after the test. */
export async function listen(app: Application): Promise<string> {
  const server = await serve(app, { port: 0, announce: false });
  servers.push(server);
  return server.url.replace(/\/$/, '');
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over node:http (a fresh connection): status, headers, the body as text. */
export function request(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .request(url, { headers, method, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject)
      .end(body);
  });
}

/** Resolves once `condition()` holds (checked every 10 ms), or fails after `timeout` ms. */
export async function until(condition: () => boolean | Promise<boolean>, timeout = 10_000) {
  const end = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('until: the condition did not hold in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A memory store that counts its reads (with or without a promise), by key. */
export function countingStore(): { store: MemoryCacheStore; reads: string[] } {
  const store = new MemoryCacheStore();
  const reads: string[] = [];
  const get = store.get.bind(store);
  const peek = store.peek.bind(store);
  store.get = (key) => {
    reads.push(key);
    return get(key);
  };
  store.peek = (key) => {
    reads.push(key);
    return peek(key);
  };
  return { store, reads };
}
