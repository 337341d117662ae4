/**
 * `npm run bench:session`:
 * - the in-process cost of a cookie-session round trip (unseal + change + seal): mortar's
 *   CookieStore against iron-session and h3's useSession;
 * - over HTTP: `hello` with and without an installed but untouched session middleware (the
 *   cost of laziness), and a counter session on MemoryStore and on RedisStore (a real
 *   redis-server on a free port, skipped with a message when not installed), with 50
 *   sessions spread over the connections.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hello } from '../../middleware/hello/index.js';
import { session } from '../../middleware/session/index.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../../test/helpers/redis.js';
import { callCosts } from '../layers.js';
import { connections, loader, measure, runs, seconds, startServer } from '../lib.js';
import { roundTrips } from './roundtrip.js';

console.log(
  `\nmedian of ${runs} runs, ${connections} connections, ${loader}, Node ${process.version}`,
);

console.log('\ncookie-session round trip, in-process (unseal + change + seal):\n');
console.log('| implementation | round trips/s | × iron-session |\n|---|---:|---:|');
const trips = await roundTrips(runs, seconds * 400);
const iron = trips.find((t) => t.label === 'iron-session')!.perSecond;
for (const { label, perSecond } of trips) {
  console.log(`| ${label} | ${Math.round(perSecond)} | ${(perSecond / iron).toFixed(2)} |`);
}

const script = new URL('./servers.ts', import.meta.url);
let redis: RedisServer | undefined;
if (redisAvailable) redis = await RedisServer.start();
else console.log(`\nRedisStore left out: ${redisSkipReason}`);

const names = ['hello', 'hello-untouched-session', 'memory', ...(redis ? ['redis'] : [])];
const running: { child: ChildProcess; url: string }[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'mortar-bench-session-'));
try {
  for (const name of names)
    running.push(await startServer(script, name, {}, redis ? [redis.url] : []));
  // 50 sessions per counter server, one cookie per connection (round robin), so requests of
  // one session rarely wait for each other.
  const cookieFiles: Record<string, string> = {};
  for (const [index, name] of names.entries()) {
    if (name !== 'memory' && name !== 'redis') continue;
    const cookies: string[] = [];
    for (let i = 0; i < 50; i++) {
      const response = await fetch(running[index]!.url);
      cookies.push(response.headers.getSetCookie()[0]!.split(';')[0]!);
    }
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(cookies));
    cookieFiles[name] = file;
  }
  const results = await measure(
    names.map((name, index) =>
      cookieFiles[name]
        ? { url: running[index]!.url, cookiesFile: cookieFiles[name] }
        : running[index]!.url,
    ),
  );
  const [helloRate, untouched] = [results[0]!.requests, results[1]!.requests];
  console.log('\nover HTTP:\n\n| server | req/s |\n|---|---:|');
  for (const [index, name] of names.entries())
    console.log(`| ${name} | ${Math.round(results[index]!.requests)} |`);
  console.log(
    `\nover HTTP an installed but untouched session measured ${((1 - untouched / helloRate) * 100).toFixed(1)} % fewer req/s (run-to-run noise here is about ±5 %)`,
  );
  const [plain, wrapped] = callCosts(
    [
      ['hello', hello],
      [
        'session(hello), untouched',
        session({ secret: 'a-benchmark-secret-that-is-long-enough-0' })(hello),
      ],
    ],
    '/',
  );
  const extra = wrapped!.ns - plain!.ns;
  const perRequest = 1e9 / helloRate;
  console.log(
    `in-process it adds ${extra.toFixed(0)} ns per request (${plain!.ns.toFixed(0)} → ${wrapped!.ns.toFixed(0)} ns): ${((extra / perRequest) * 100).toFixed(2)} % of the ${(perRequest / 1000).toFixed(1)} µs an HTTP request takes here (target ≤ 2 %)`,
  );
} finally {
  await Promise.all(
    running.map(({ child }) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      return exited;
    }),
  );
  await redis?.remove();
  rmSync(dir, { recursive: true, force: true });
}
