/**
 * Servers for `bench/session/index.ts`, one per process: `tsx servers.ts <name> [redis-url]`.
 */
import { hello } from '../../middleware/hello/index.js';
import { getSession, MemoryStore, session } from '../../middleware/session/index.js';
import { RedisStore } from '../../middleware/session/redis.js';
import { serve } from '../../src/gateways/node/index.js';
import { type Application, FastResponse } from '../../src/index.js';

const secret = 'a-benchmark-secret-that-is-long-enough-0123456789';
const [name = '', redisUrl = ''] = process.argv.slice(2);

/** Increments a counter in the session on every request. */
const counter: Application = async (_request, environ) => {
  const s = await getSession(environ);
  s.set('count', ((s.get('count') as number) ?? 0) + 1);
  return new FastResponse(String(s.get('count')));
};

const apps: Record<string, () => Application> = {
  hello: () => hello,
  'hello-untouched-session': () => session({ secret })(hello),
  memory: () => session({ secret, store: new MemoryStore() })(counter),
  redis: () =>
    session({ secret, store: new RedisStore({ url: redisUrl, prefix: 'bench:' }) })(counter),
};
const make = apps[name];
if (!make) {
  console.error(`usage: servers.ts <${Object.keys(apps).join('|')}> [redis-url]`);
  process.exit(2);
}
const server = await serve(make(), { port: 0, announce: false });
process.stdout.write(`${server.url.slice(0, -1)}\n`);
