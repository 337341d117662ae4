/**
 * The servers `bench/cache/index.ts` measures, one per process: `tsx bench/cache/servers.ts
 * <name> <dir> [redis-url]` prints its URL on stdout and serves until killed.
 */
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

const apps: Record<string, () => Application> = {
  uncached: () => slow,
  memory: () => cache()(slow),
  redis: () => cache({ store: new RedisCacheStore({ url: redisUrl, prefix: 'bench:' }) })(slow),
  static: () => serveStatic(dir)(notFound),
  'no-store': () => noStore,
  'no-store-cached': () => cache()(noStore),
  'no-store-quiet': () => cache({ cacheStatus: false })(noStore),
  'no-store-status': () => () =>
    new FastResponse(KIB, {
      headers: {
        'cache-control': 'no-store',
        'cache-status': 'mortar; fwd=uri-miss; fwd-status=200; detail=no-store',
      },
    }),
};

const make = apps[name];
if (!make) throw new Error(`unknown server ${name}`);
const server = await serve(make(), { port: 0, announce: false });
process.stdout.write(`${server.url.replace(/\/$/, '')}\n`);
