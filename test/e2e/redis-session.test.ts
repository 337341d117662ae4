/**
 * RedisStore against a real redis-server: stopped mid-run the requests get 503 and one log
 * line, nothing crashes; restarted, service resumes by itself. And two processes sharing a
 * store merge what they write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSession, session } from '../../middleware/session/index.js';
import { RedisStore } from '../../middleware/session/redis.js';
import { type Application, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../helpers/redis.js';
import { runWriters } from '../helpers/writers.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
let redis: RedisServer;
let store: RedisStore;

const counter: Application = async (_request, environ) => {
  const s = await getSession(environ);
  s.set('count', ((s.get('count') as number) ?? 0) + 1);
  return FastResponse.json({ count: s.get('count') });
};

describe.skipIf(!redisAvailable)('RedisStore with a real redis-server', () => {
  beforeAll(async () => {
    redis = await RedisServer.start();
    store = new RedisStore({ url: redis.url, prefix: 'outage:' });
  });
  afterAll(async () => {
    await store?.close();
    await redis?.remove();
  });

  it('answers 503 with one log line while Redis is down, and serves again when it returns', async () => {
    const logs: string[] = [];
    const client = new TestClient(
      session({ secret: SECRET, store, log: (l) => logs.push(l) })(counter),
    );
    expect((await client.get('/')).json()).toEqual({ count: 1 });

    await redis.stop();
    const down = [];
    for (let i = 0; i < 3; i++)
      down.push(await client.get('/', { headers: { accept: 'application/json' } }));
    for (const res of down) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.json()).toMatchObject({ status: 503 });
    }
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /^mortar session: the store is unavailable \(Redis: .*\); answering 503 until it returns$/,
    );

    await redis.start();
    let status = 0;
    for (let i = 0; i < 60 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await client.get('/')).status;
    }
    expect(status).toBe(200);
    expect(logs[1]).toBe('mortar session: the store answers again; sessions are served');
  });

  it('a process busy past connectTimeout right after making the store still gets its connection', async () => {
    const busy = new RedisStore({ url: redis.url, prefix: 'busy:', connectTimeout: 1000 });
    try {
      // A start-up still loading modules: synchronous work past connectTimeout, so the
      // connection's events wait behind whatever timer has fallen due meanwhile.
      const until = Date.now() + 1200;
      while (Date.now() < until);
      const record = { data: { visits: 1 }, createdAt: Date.now(), accessedAt: Date.now() };
      await busy.set('one', record, 60);
      expect(await busy.get('one')).toEqual(record);
    } finally {
      await busy.close();
    }
  });

  it('two processes writing different keys of one session at once lose neither', async () => {
    const client = new TestClient(session({ secret: SECRET, store })(counter));
    const first = await client.get('/');
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    await runWriters(redis.url, cookie, ['alpha', 'beta'], 300);
    const read: Application = async (_request, environ) => {
      const s = await getSession(environ);
      return FastResponse.json(Object.fromEntries(s.keys().map((k) => [k, s.get(k)])));
    };
    const reader = new TestClient(session({ secret: SECRET, store })(read));
    const data = (await reader.get('/', { headers: { cookie } })).json<Record<string, number>>();
    expect(data).toMatchObject({ count: 1, alpha: 300, beta: 300 });
  });
});

if (!redisAvailable) {
  describe('RedisStore with a real redis-server', () => {
    it.skip(`skipped: ${redisSkipReason}`, () => {});
  });
}
