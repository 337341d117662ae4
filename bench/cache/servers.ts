/**
 * The servers `bench/cache/index.ts` measures, one per process: `tsx bench/cache/servers.ts
 * <name> <dir> [redis-url]` prints its URL on stdout and serves until killed.
 */
import http from 'node:http';
import { cache } from '../../middleware/cache/index.js';
import { RedisCacheStore } from '../../middleware/cache/redis.js';
import { serveStatic } from '../../middleware/static/index.js';
import { serve } from '../../src/gateways/node/index.js';
import { type Application, FastResponse } from '../../src/index.js';

const [name, dir, redisUrl] = process.argv.slice(2) as [string, string, string | undefined];
const KIB = 'x'.repeat(1024);

/**
 * The origin: 1 ms of CPU (rendering, say — a timer would cost the process nothing, and 50
 * connections would hide it), then 1 KiB that may be cached for an hour.
 */
const slow: Application = () => {
  const end = performance.now() + 1;
  while (performance.now() < end) {}
  return new FastResponse(KIB, { headers: { 'cache-control': 'max-age=3600' } });
};
/** A route that says no-store, answered at once (the cost of cache() shows against it). */
const noStore: Application = () =>
  new FastResponse(KIB, { headers: { 'cache-control': 'no-store' } });
const notFound: Application = () => new FastResponse('not found', { status: 404 });

/** The fields `slow` answers with on the wire (bare node:http writes them too). */
const FIELDS = {
  'cache-control': 'max-age=3600',
  'content-type': 'text/plain; charset=UTF-8',
  'content-length': '1024',
};
/** The bytes and fields a memory hit of `slow` answers with (its `Age` at 0). */
const HIT_BODY = new TextEncoder().encode(KIB);
const HIT_FIELDS = { ...FIELDS, age: '0', 'cache-status': 'mortar; hit; ttl=3600' };

const apps: Record<string, () => Application> = {
  uncached: () => slow,
  memory: () => cache()(slow),
  // What a hit answers, answered by a route: the hit's cost is what the cache itself adds to it.
  'hit-fields': () => () => new FastResponse(HIT_BODY, { headers: HIT_FIELDS }),
  redis: () => cache({ store: new RedisCacheStore({ url: redisUrl, prefix: 'bench:' }) })(slow),
  static: () => serveStatic(dir)(notFound),
  'no-store': () => noStore,
  'no-store-cached': () => cache()(noStore),
  'no-store-quiet': () => cache({ cacheStatus: false })(noStore),
  'no-store-busy': () => (request, environ) => {
    const end = performance.now() + 0.0003; // ~0.5 µs with the clock reads
    while (performance.now() < end) {}
    return noStore(request, environ);
  },
  'no-store-status': () => () =>
    new FastResponse(KIB, {
      headers: {
        'cache-control': 'no-store',
        'cache-status': 'mortar; fwd=uri-miss; fwd-status=200; detail=no-store',
      },
    }),
};

if (name === 'bare') {
  // The ceiling: node:http itself answering the same 1 KiB, no mortar, no cache.
  const server = http.createServer((_req, res) => {
    res.writeHead(200, FIELDS);
    res.end(KIB);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`http://127.0.0.1:${port}\n`);
  });
} else {
  const make = apps[name];
  if (!make) throw new Error(`unknown server ${name}`);
  const server = await serve(make(), { port: 0, announce: false });
  process.stdout.write(`${server.url.replace(/\/$/, '')}\n`);
}
