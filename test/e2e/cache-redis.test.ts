/**
 * The cache across processes on one real Redis: `mortar serve --workers 4` makes one origin call
 * for 100 concurrent misses; a lock holder killed with SIGKILL stalls the waiters of another
 * process no longer than the lock timeout; a region shared by two processes creates once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../helpers/redis.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(root, 'bin/mortar.js');
const tsx = path.join(root, 'node_modules/tsx/dist/cli.mjs');
const HOST = 'cache.test';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

let redis: RedisServer;
let client: Redis;
beforeAll(async () => {
  if (!redisAvailable)
    return void console.warn(`cross-process cache tests skipped: ${redisSkipReason}`);
  redis = await RedisServer.start();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.remove();
});

/** `mortar serve` of the cache fixture (with `--workers`), started; its URL. */
async function serveFixture(workers: number, env: Record<string, string> = {}) {
  const port = await freePort();
  const args = ['serve', 'test/fixtures/cache-app.ts', '--port', String(port)];
  if (workers > 0) args.push('--workers', String(workers));
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MORTAR_TEST_REDIS: redis.url, ...env },
  });
  children.push(child);
  let output = '';
  child.stderr!.on('data', (c) => {
    output += c;
  });
  const ready = workers > 0 ? `${workers} workers serving` : 'serving';
  for (let i = 0; i < 400 && !output.includes(ready); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!output.includes(ready)) throw new Error(`the cache fixture did not start:\n${output}`);
  return { child, url: `http://127.0.0.1:${port}` };
}

/**
 * GET on a fresh connection (so the cluster may hand it to any worker), with one Host for every
 * process (the key is the URL, whose authority is the Host a front end passes on).
 */
function get(url: string): Promise<{ body: string; worker: string; status: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers: { host: HOST } }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () =>
          resolve({
            body,
            worker: String(res.headers['x-worker']),
            status: String(res.headers['cache-status']),
          }),
        );
      })
      .on('error', reject);
  });
}

describe.skipIf(!redisAvailable)('cache() on Redis across processes', () => {
  it('100 concurrent misses over 4 `mortar serve --workers` processes make 1 origin call', async () => {
    const { url } = await serveFixture(4);
    const replies = await Promise.all(Array.from({ length: 100 }, () => get(`${url}/hot?ms=300`)));
    expect(new Set(replies.map((r) => r.body)).size).toBe(1);
    expect(new Set(replies.map((r) => r.worker)).size).toBeGreaterThan(1);
    expect(await client.get('calls:/hot')).toBe('1');
  });

  it('a lock holder killed with SIGKILL does not stall the waiters past the lock timeout', async () => {
    const env = { MORTAR_TEST_LOCK_TIMEOUT: '1500' };
    const holder = await serveFixture(0, { ...env, MORTAR_TEST_HANG: '1' });
    const waiter = await serveFixture(0, env);
    http.get(`${holder.url}/hang`, { agent: false, headers: { host: HOST } }).on('error', () => {});
    const taken = Date.now() + 10_000;
    while ((await client.get('calls:/hang')) !== '1') {
      if (Date.now() > taken) throw new Error('the holder never reached the origin');
      await new Promise((r) => setTimeout(r, 20));
    }
    const waiting = get(`${waiter.url}/hang`);
    holder.child.kill('SIGKILL');
    const reply = await waiting;
    expect(reply.body).toMatch(/^made by \d+$/);
    expect(reply.status).toMatch(/^mortar; fwd=uri-miss; fwd-status=200/);
    expect(await client.get('calls:/hang')).toBe('2');
  });
});

describe.skipIf(!redisAvailable)('region() on Redis across processes', () => {
  it('two processes sharing a region create the value once', async () => {
    const startAt = String(Date.now() + 2500);
    const run = () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [tsx, 'test/fixtures/cache-region.ts', redis.url, startAt],
          {
            cwd: root,
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        children.push(child);
        let out = '';
        child.stdout!.on('data', (c) => {
          out += c;
        });
        child.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}`)),
        );
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect(new Set([...a!, ...b!]).size).toBe(1);
    expect(await client.get('region-creates')).toBe('1');
  });
});
