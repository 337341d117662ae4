/**
 * `cache()` and the traffic around an entry: request collapsing and its lock timeout,
 * streamed bodies and `maxEntrySize`, what passes through, invalidation by unsafe methods, and
 * `purge`.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { cache, MemoryCacheStore, purge } from '../../../middleware/cache/index.js';
import { webSocket } from '../../../middleware/websocket/index.js';
import { type Application, FastResponse, type Middleware } from '../../../src/index.js';
import { TestClient } from '../../../src/testing/index.js';
import { countingStore, listen, request, until } from './helpers.js';

/** Counts the requests that reached the cache (an outer middleware). */
function arrivals(): { count: number; middleware: Middleware } {
  const seen = {
    count: 0,
    middleware: ((app) => (r, e) => {
      seen.count++;
      return app(r, e);
    }) as Middleware,
  };
  return seen;
}

describe('cache(): request collapsing', () => {
  it('100 concurrent misses on one key make one application call', async () => {
    let calls = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const app: Application = async () => {
      calls++;
      await gate;
      return new FastResponse('made once', { headers: { 'cache-control': 'max-age=60' } });
    };
    const seen = arrivals();
    const url = await listen(seen.middleware(cache()(app)));
    const replies = Promise.all(Array.from({ length: 100 }, () => request(`${url}/hot`)));
    await until(() => seen.count === 100);
    open();
    const all = await replies;
    expect(all.every((r) => r.body === 'made once')).toBe(true);
    expect(calls).toBe(1);
    expect(all.filter((r) => /collapsed/.test(String(r.headers['cache-status'])))).toHaveLength(99);
  });

  it('waiters go to the application themselves once the lock timeout passes', async () => {
    let calls = 0;
    const app: Application = async () => {
      if (++calls === 1) await new Promise(() => {}); // the first never answers
      return new FastResponse('second', { headers: { 'cache-control': 'max-age=60' } });
    };
    const url = await listen(cache({ lockTimeout: 200 })(app));
    const first = http.get(`${url}/stuck`).on('error', () => {});
    await until(() => calls === 1);
    const reply = await request(`${url}/stuck`);
    expect(reply.body).toBe('second');
    expect(calls).toBe(2);
    first.destroy();
  });
});

describe('cache(): bodies', () => {
  it('streams a 10 MiB body to the client before it ends, and does not store it over maxEntrySize', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(97);
    let calls = 0;
    let clientGotBytes!: () => void;
    const app: Application = () => {
      calls++;
      let sent = 0;
      const firstBytes = new Promise<void>((resolve) => {
        clientGotBytes = resolve;
      });
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === 8 && calls === 1) await firstBytes; // the rest waits for the client to see the start
          if (sent === 160) return controller.close();
          sent++;
          controller.enqueue(chunk);
        },
      });
      return new FastResponse(body, { headers: { 'cache-control': 'max-age=60' } });
    };
    const url = await listen(cache({ maxEntrySize: 1024 * 1024 })(app));
    const length = await new Promise<number>((resolve, reject) => {
      http.get(`${url}/big`, (res) => {
        let bytes = 0;
        res.on('data', (data: Buffer) => {
          bytes += data.length;
          clientGotBytes();
        });
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      });
    });
    expect(length).toBe(10 * 1024 * 1024);
    const again = await request(`${url}/big`);
    expect(again.headers['cache-status']).toMatch(/^mortar; fwd=uri-miss/);
    expect(calls).toBe(2);
  });

  it('stores a streamed body that fits', async () => {
    let calls = 0;
    const app: Application = () => {
      calls++;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('part one, '));
          controller.enqueue(new TextEncoder().encode('part two'));
          controller.close();
        },
      });
      return new FastResponse(body, { headers: { 'cache-control': 'max-age=60' } });
    };
    const url = await listen(cache()(app));
    await request(`${url}/s`);
    await until(async () =>
      /hit/.test(String((await request(`${url}/s`)).headers['cache-status'])),
    );
    expect((await request(`${url}/s`)).body).toBe('part one, part two');
    expect(calls).toBe(1);
  });

  it.each([
    [
      'a 206',
      { range: 'bytes=0-1' },
      () =>
        new FastResponse('ab', {
          status: 206,
          headers: { 'content-range': 'bytes 0-1/4', 'cache-control': 'max-age=60' },
        }),
    ],
    [
      'an event stream',
      {},
      () =>
        new FastResponse('data: 1\n\n', {
          headers: { 'content-type': 'text/event-stream', 'cache-control': 'max-age=60' },
        }),
    ],
  ] as const)('passes %s through, unstored', async (_name, headers, reply) => {
    let calls = 0;
    const app: Application = () => {
      calls++;
      return reply();
    };
    const url = await listen(cache()(app));
    await request(`${url}/p`, headers);
    await request(`${url}/p`, headers);
    expect(calls).toBe(2);
  });
});

describe('cache(): invalidation', () => {
  it.each(['POST', 'PUT', 'DELETE'])('a successful %s invalidates its URL', async (method) => {
    let version = 1;
    const app: Application = (r) => {
      if (r.method !== 'GET') {
        version++;
        return new FastResponse('changed');
      }
      return new FastResponse(`v${version}`, { headers: { 'cache-control': 'max-age=60' } });
    };
    const url = await listen(cache()(app));
    expect((await request(`${url}/doc`)).body).toBe('v1');
    await request(`${url}/doc`, {}, method, 'x');
    expect((await request(`${url}/doc`)).body).toBe('v2');
  });

  it('invalidates the Location and Content-Location on the same origin, and not after an error', async () => {
    let version = 1;
    const app: Application = (r) => {
      const path = new URL(r.url).pathname;
      if (path === '/fail') return new FastResponse('no', { status: 500 });
      if (r.method === 'POST') {
        version++;
        return new FastResponse('made', {
          status: 201,
          headers: { location: '/items/1', 'content-location': '/items/latest' },
        });
      }
      return new FastResponse(`${path} v${version}`, {
        headers: { 'cache-control': 'max-age=60' },
      });
    };
    const url = await listen(cache()(app));
    await request(`${url}/items/1`);
    await request(`${url}/items/latest`);
    await request(`${url}/fail`, {}, 'POST');
    expect((await request(`${url}/items/1`)).body).toBe('/items/1 v1');
    await request(`${url}/items`, {}, 'POST');
    expect((await request(`${url}/items/1`)).body).toBe('/items/1 v2');
    expect((await request(`${url}/items/latest`)).body).toBe('/items/latest v2');
  });

  it('purge(environ, url) removes every variant of a URL', async () => {
    let version = 1;
    const app: Application = async (r, environ) => {
      const path = new URL(r.url).pathname;
      if (path === '/purge') {
        version++;
        await purge(environ, '/page');
        return new FastResponse('purged');
      }
      return new FastResponse(`v${version} ${r.headers.get('accept-language')}`, {
        headers: { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
      });
    };
    const url = await listen(cache()(app));
    await request(`${url}/page`, { 'accept-language': 'en' });
    await request(`${url}/page`, { 'accept-language': 'fr' });
    await request(`${url}/purge`);
    expect((await request(`${url}/page`, { 'accept-language': 'en' })).body).toBe('v2 en');
    expect((await request(`${url}/page`, { 'accept-language': 'fr' })).body).toBe('v2 fr');
  });
});

describe('cache(): Cache-Status on what it passes through (RFC 9211)', () => {
  it.each([
    ['POST', 201],
    ['PUT', 200],
    ['DELETE', 204],
    ['OPTIONS', 200],
  ])('%s: fwd=method, with the status the application answered', async (method, status) => {
    const app: Application = () => new FastResponse(status === 204 ? null : 'done', { status });
    const url = await listen(cache()(app));
    const reply = await request(
      `${url}/thing`,
      {},
      method,
      method === 'POST' || method === 'PUT' ? 'x' : undefined,
    );
    expect(reply.status).toBe(status);
    expect(reply.headers['cache-status']).toBe(`mortar; fwd=method; fwd-status=${status}`);
  });

  it('passes a 206 and an event stream through with the reason in Cache-Status', async () => {
    const app: Application = (r) =>
      new URL(r.url).pathname === '/events'
        ? new FastResponse('data: 1\n\n', {
            headers: { 'content-type': 'text/event-stream', 'cache-control': 'max-age=60' },
          })
        : new FastResponse('ab', { status: 206, headers: { 'content-range': 'bytes 0-1/4' } });
    const url = await listen(cache()(app));
    const partial = await request(`${url}/partial`);
    expect(partial.headers['cache-status']).toBe(
      'mortar; fwd=uri-miss; fwd-status=206; detail=partial',
    );
    const events = await request(`${url}/events`);
    expect(events.headers['cache-status']).toBe(
      'mortar; fwd=uri-miss; fwd-status=200; detail=event-stream',
    );
  });
});

describe('cache(): Upgrade requests pass through untouched', () => {
  const environ = { scriptName: '', pathInfo: '/ws', gateway: 'test' as const };
  const handshake = () =>
    new Request('http://localhost/ws', {
      headers: { upgrade: 'websocket', connection: 'Upgrade' },
    });

  it('adds nothing to the 101 of a WebSocket the chain accepted, and the socket works', async () => {
    const echo = webSocket({ message: (peer, message) => void peer.send(message.text()) });
    const client = new TestClient(cache({ store: new MemoryCacheStore() })(echo));
    const socket = await client.websocket('/ws');
    expect(socket.headers.get('cache-status')).toBeNull();
    socket.send('hi');
    expect(await socket.next()).toBe('hi');
    socket.close(1000);
  });

  it('returns the application’s own Response object, marked fwd=bypass', async () => {
    const own = new Response(null, {
      status: 200,
      headers: { 'cache-control': 'max-age=60', 'x-marker': '1' },
    });
    const app = cache()(() => own);
    const response = await app(handshake(), environ);
    expect(response).toBe(own);
    expect(response.headers.get('cache-status')).toBe('mortar; fwd=bypass');
    expect(response.headers.get('x-marker')).toBe('1');
  });

  it('returns the same FastResponse (not rebuilt from its parts), marked fwd=bypass', async () => {
    const own = new FastResponse('socket', { headers: { 'cache-control': 'max-age=60' } });
    const response = await cache()(() => own)(handshake(), environ);
    expect(response).toBe(own);
    expect(response.headers.get('cache-status')).toBe('mortar; fwd=bypass');
    expect(await response.text()).toBe('socket');
  });

  it('returns a Response whose header fields cannot change as it is', async () => {
    const own = Response.redirect('http://localhost/elsewhere', 307);
    const response = await cache()(() => own)(handshake(), environ);
    expect(response).toBe(own);
    expect(response.headers.get('cache-status')).toBeNull();
  });

  it('neither collapses concurrent upgrades nor stores their responses', async () => {
    let calls = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const app = cache()(async () => {
      calls++;
      await gate;
      return new FastResponse('socket', { headers: { 'cache-control': 'max-age=60' } });
    });
    const both = Promise.all([app(handshake(), environ), app(handshake(), environ)]);
    await until(() => calls === 2);
    open();
    await both;
    const plain = await app(new Request('http://localhost/ws'), environ);
    expect(plain.headers.get('cache-status')).toMatch(/^mortar; fwd=uri-miss/);
    expect(calls).toBe(3);
  });
});

describe('cache(): a fresh hit in memory', () => {
  it('is answered synchronously, from the store, with no promise of the cache’s own', async () => {
    const environ = { scriptName: '', pathInfo: '/h', gateway: 'test' as const };
    const app = cache()(
      () => new FastResponse('kept', { headers: { 'cache-control': 'max-age=60' } }),
    );
    await app(new Request('http://localhost/h'), environ);
    const hit = app(new Request('http://localhost/h'), environ);
    expect(hit).not.toBeInstanceOf(Promise);
    expect((hit as Response).headers.get('cache-status')).toMatch(/^mortar; hit/);
    expect(await (hit as Response).text()).toBe('kept');
  });
});

describe('cache(): a URL that answers something not storable', () => {
  it('is answered synchronously once known, when the application answers synchronously', async () => {
    const environ = { scriptName: '', pathInfo: '/x', gateway: 'test' as const };
    const app = cache()(() => new FastResponse('x', { headers: { 'cache-control': 'no-store' } }));
    const first = app(new Request('http://localhost/x'), environ);
    expect(first).toBeInstanceOf(Promise); // the store is asked once
    await first;
    const again = app(new Request('http://localhost/x'), environ);
    expect(again).not.toBeInstanceOf(Promise);
    expect((again as Response).headers.get('cache-status')).toBe(
      'mortar; fwd=uri-miss; fwd-status=200; detail=no-store',
    );
  });

  it('is not looked up in the store again within passTtl in this process, until it answers storable', async () => {
    const { store, reads: gets } = countingStore();
    let storable = false;
    const app: Application = () =>
      new FastResponse('x', { headers: { 'cache-control': storable ? 'max-age=60' : 'no-store' } });
    const url = await listen(cache({ store })(app));
    for (let i = 0; i < 3; i++) {
      const reply = await request(`${url}/x`);
      expect(reply.headers['cache-status']).toBe(
        'mortar; fwd=uri-miss; fwd-status=200; detail=no-store',
      );
    }
    expect(gets).toHaveLength(1);
    storable = true;
    await request(`${url}/x`);
    expect((await request(`${url}/x`)).headers['cache-status']).toMatch(/^mortar; hit/);
  });

  it("still honours the request's no-store when a remembered URL answers storable", async () => {
    let storable = false;
    let calls = 0;
    const app: Application = () => {
      calls++;
      return new FastResponse('x', {
        headers: { 'cache-control': storable ? 'max-age=60' : 'no-store' },
      });
    };
    const url = await listen(cache()(app));
    await request(`${url}/x`); // remembered: it answered no-store
    storable = true;
    const refused = await request(`${url}/x`, { 'cache-control': 'no-store' });
    expect(refused.headers['cache-status']).toBe(
      'mortar; fwd=uri-miss; fwd-status=200; detail=request-no-store',
    );
    // Nothing was stored: the next request goes to the application again.
    await request(`${url}/x`);
    expect(calls).toBe(3);
  });
});
