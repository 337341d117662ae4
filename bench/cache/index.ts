/**
 * `npm run bench:cache`: the response cache and the data cache, against what they stand in for.
 *
 * - a memory hit of a 1 KiB page against the same app uncached (it takes 1 ms: target ≥ 3×) and
 *   against serveStatic on a 1 KiB file (≥ 0.9×);
 * - a Redis hit against a memory hit (≥ 0.5×);
 * - nginx `proxy_cache` in front of the same uncached app, its hit against mortar's memory hit
 *   (mortar ≥ 0.5× nginx; skipped with a message without nginx);
 * - `cache()` on a `no-store` route against the route alone (cost ≤ 3 % req/s), with and without
 *   the `Cache-Status` field, that field alone (the route adding it itself), and the bench's
 *   scale: the route after ~0.5 µs of busy CPU (a cost in process has read up to three times
 *   larger in these req/s ratios: on two cores the server's core also carries the kernel's
 *   work for both ends of the loopback);
 * - bare node:http serving the same 1 KiB against nginx's hit: the ceiling any Node cache meets;
 *   and a route answering a hit's bytes and fields through the gateway, no cache: the hit's
 *   distance from it is what the cache itself costs;
 * - a data-cache hit (`region.getOrCreate`) in ns, against bentocache's memory `getOrSet`.
 *
 * HTTP pairs are measured back to back (`measurePaired`: A then B, then B then A …) and their
 * ratio taken round by round; medians and quartiles reported. Every Node server runs in its own
 * process (NODE_ENV=production), bundled as production runs it (`startServer`'s `built`: no
 * tsx wrappers per closure); nginx with one worker, on core 0 with them. Environment:
 * BENCH_ROUNDS (default 16), BENCH_BURST seconds per load (default 1), BENCH_TRIALS (fresh
 * server processes per pair, default 8: the rounds are shared among them — a ratio within a few
 * per cent of 1, as the no-store pair's, moved by ±4 % between runs of 8 rounds over 4 process
 * sets), BENCH_PAIRS (a
 * comma-separated list of `uncached`, `static`, `redis`, `nginx`, `no-store`, `data`: only
 * those pairs; default all).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { region } from '../../middleware/cache/index.js';
import { type FrontEnd, nginxBinary, startNginx } from '../../test/helpers/frontends.js';
import { RedisServer, redisAvailable } from '../../test/helpers/redis.js';
import {
  loader,
  measurePaired,
  type PairedSample,
  pinning,
  quartiles,
  type Running,
  startServer,
} from '../lib.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 16);
const burst = Number(process.env.BENCH_BURST ?? 1);
const trials = Math.min(rounds, Number(process.env.BENCH_TRIALS ?? 8));
const ALL = ['uncached', 'static', 'redis', 'nginx', 'no-store', 'data'];
const wanted = new Set(process.env.BENCH_PAIRS?.split(',').map((p) => p.trim()) ?? ALL);
for (const name of wanted) {
  if (!ALL.includes(name)) throw new Error(`BENCH_PAIRS: unknown pair ${name} (${ALL.join(', ')})`);
}
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-cache-'));
chmodSync(dir, 0o755);
writeFileSync(path.join(dir, 'page.txt'), 'x'.repeat(1024));

const script = new URL('./servers.ts', import.meta.url);
const running = new Map<string, Running>();
let redis: RedisServer | undefined;
let nginx: FrontEnd | undefined;
const rows: string[] = [];

/** Fills the cache (one request), so every measured request is a hit. */
const warm = (url: string) =>
  new Promise<void>((resolve, reject) => {
    http.get(url, (res) => res.resume().on('end', resolve)).on('error', reject);
  });

/** A side of a pair: a URL that stays up (nginx), or a server of servers.ts and its path. */
type Side = string | { name: string; path?: string };

/**
 * Measures `target` against `base` over BENCH_TRIALS fresh sets of server processes, the
 * rounds shared among them: one process of the same code keeps a bias of a few per cent for its
 * whole life (two of the same no-store route measured 0.97 and 1.03 of each other), which no
 * number of rounds against that one process averages out.
 */
async function pair(label: string, base: Side, target: Side, goal: string) {
  const samples: PairedSample[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const started: Running[] = [];
    const urlOf = async (side: Side) => {
      if (typeof side === 'string') return side;
      const server = await startServer(script, side.name, {}, [dir, redis?.url ?? ''], true);
      started.push(server);
      return `${server.url}${side.path ?? '/page'}`;
    };
    try {
      const [a, b] = [await urlOf(base), await urlOf(target)];
      await warm(a);
      await warm(b);
      samples.push(...(await measurePaired(a, b, Math.ceil(rounds / trials), burst)));
    } finally {
      for (const { child } of started) child.kill();
    }
  }
  const { low, median, high } = quartiles(samples.map((s) => s.ratio));
  rows.push(
    `| ${label} | ${median.toFixed(2)}× | ${low.toFixed(2)} … ${high.toFixed(2)} | ${goal} |`,
  );
}

try {
  if (redisAvailable && wanted.has('redis')) redis = await RedisServer.start();
  if (wanted.has('uncached')) {
    await pair(
      'memory hit ÷ uncached (the app takes 1 ms of CPU)',
      { name: 'uncached' },
      { name: 'memory' },
      '≥ 3×',
    );
  }
  if (wanted.has('static')) {
    await pair(
      'memory hit ÷ serveStatic 1 KiB file',
      { name: 'static', path: '/page.txt' },
      { name: 'memory' },
      '≥ 0.9×',
    );
  }
  if (wanted.has('redis') && redis) {
    await pair('Redis hit ÷ memory hit', { name: 'memory' }, { name: 'redis' }, '≥ 0.5×');
  } else if (wanted.has('redis')) {
    rows.push('| Redis hit ÷ memory hit | – | redis-server not installed | ≥ 0.5× |');
  }
  if (wanted.has('nginx') && nginxBinary) {
    const upstream = await startServer(script, 'uncached', {}, [dir], true);
    running.set('uncached', upstream);
    const origin = new URL(upstream.url);
    nginx = await startNginx(
      dir,
      [
        `LISTEN location / { proxy_pass http://127.0.0.1:${origin.port}; proxy_cache one; proxy_http_version 1.1; proxy_set_header Connection ""; }`,
      ],
      `proxy_cache_path ${dir}/nginx-cache keys_zone=one:10m; keepalive_requests 100000;`,
      // On core 0 with the Node servers (wrk has core 1): unpinned, it had wrk's core too.
      pinning ? 'worker_cpu_affinity 01;' : '',
    );
    await pair(
      'mortar memory hit ÷ nginx proxy_cache hit',
      `${nginx.urls[0]}/page`,
      { name: 'memory' },
      '≥ 0.5×',
    );
    // What Node's HTTP server itself reaches against nginx: no cache in Node can pass it.
    await pair(
      '(ceiling) bare node:http, the same 1 KiB ÷ nginx proxy_cache hit',
      `${nginx.urls[0]}/page`,
      { name: 'bare' },
      '–',
    );
    // The same 1 KiB and fields as a hit, from a route through the gateway, no cache.
    await pair(
      '(reference) a route answering a hit’s bytes and fields ÷ nginx proxy_cache hit',
      `${nginx.urls[0]}/page`,
      { name: 'hit-fields' },
      '–',
    );
  } else if (wanted.has('nginx')) {
    rows.push('| mortar memory hit ÷ nginx proxy_cache hit | – | nginx not installed | ≥ 0.5× |');
  }
  if (wanted.has('no-store')) {
    await pair(
      'cache() on a no-store route ÷ the route alone',
      { name: 'no-store' },
      { name: 'no-store-cached' },
      '≥ 0.97× (cost ≤ 3 %)',
    );
    // What cache() costs without the one field it adds, and (the control) what that field costs
    // on the wire with no cache(): most of it, on a route that answers at once.
    await pair(
      'cache({ cacheStatus: false }) on a no-store route ÷ the route alone',
      { name: 'no-store' },
      { name: 'no-store-quiet' },
      '≥ 0.97×',
    );
    await pair(
      '(control) the route adding the same Cache-Status itself ÷ the route alone',
      { name: 'no-store' },
      { name: 'no-store-status' },
      '–',
    );
    // The bench's own scale: ~0.5 µs of busy CPU in the route, with no cache() at all.
    await pair(
      '(scale) the route after ~0.5 µs of busy CPU ÷ the route alone',
      { name: 'no-store' },
      { name: 'no-store-busy' },
      '–',
    );
  }
} finally {
  for (const { child } of running.values()) child.kill();
  await nginx?.stop();
  await redis?.remove();
}

/** ns per awaited call of `hit`, over `n` calls after a warm-up. */
async function timeHits(hit: () => Promise<unknown>, n = 200_000): Promise<number> {
  for (let i = 0; i < 20_000; i++) await hit();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await hit();
  return Number(process.hrtime.bigint() - start) / n;
}

console.log(
  `\n${rounds} rounds × ${burst} s a side, ${loader}, Node ${process.version}: req/s ratios taken round by round\n`,
);
console.log('| pair | median | quartiles | target |\n|---|---:|---:|---:|');
for (const row of rows) console.log(row);
if (wanted.has('data')) await dataCache();
rmSync(dir, { recursive: true, force: true });
process.exit(0);

/** A data-cache hit (`region.getOrCreate`) against bentocache's memory `getOrSet`, in µs. */
async function dataCache(): Promise<void> {
  const prices = region({ name: 'bench', ttl: 3600 });
  await prices.getOrCreate('k', () => 42);
  const bento = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxSize: '10mb' })) },
  });
  await bento.getOrSet({ key: 'k', factory: () => 42, ttl: '1h' });
  const mortarNs = [];
  const bentoNs = [];
  for (let i = 0; i < 3; i++) {
    mortarNs.push(await timeHits(() => prices.getOrCreate('k', () => 42)));
    bentoNs.push(await timeHits(() => bento.getOrSet({ key: 'k', factory: () => 42, ttl: '1h' })));
  }
  const mortarHit = quartiles(mortarNs).median;
  const bentoHit = quartiles(bentoNs).median;
  console.log(
    `\ndata-cache hit: region.getOrCreate ${(mortarHit / 1000).toFixed(2)} µs, bentocache memory getOrSet ${(bentoHit / 1000).toFixed(2)} µs → mortar ${(bentoHit / mortarHit).toFixed(2)}× bentocache's rate (targets: ≤ 2 µs, ≥ 1×)`,
  );
  await bento.disconnect();
}
