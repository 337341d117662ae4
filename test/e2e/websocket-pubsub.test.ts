/**
 * `mortar serve --pubsub redis://…`: WebSocket pub/sub across processes on one real Redis —
 * a publish on one process reaches the subscribers of another; with Redis stopped, local
 * delivery goes on and one line says so; with Redis back, the processes share again.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { RedisServer, redisAvailable, redisSkipReason } from '../helpers/redis.js';
import { type Client, connect } from '../helpers/ws-client.js';
import { root, run } from './cli-run.js';

const APP = 'test/fixtures/websocket-app.ts';

/** Resolves once `output()` matches `pattern`. */
async function waitFor(output: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 600 && !pattern.test(output()); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!pattern.test(output())) throw new Error(`no ${pattern} in:\n${output()}`);
}

async function serveWith(args: string[], env: Record<string, string> = {}) {
  const port = await freePort();
  const started = run(['serve', APP, '--port', String(port), ...args], { env });
  await waitFor(started.output, args.includes('--workers') ? /workers serving/ : /serving /);
  return { ...started, ws: `ws://127.0.0.1:${port}/` };
}

async function subscribed(url: string, topic = 'room'): Promise<Client> {
  const client = await connect(url);
  expect(await client.ask(`sub ${topic}`)).toBe(`subscribed ${topic}`);
  return client;
}

/** Under `--workers 2`: a socket on each worker; a publish on one reaches the other. */
async function publishAcrossWorkers(args: string[]): Promise<void> {
  const server = await serveWith(['--workers', '2', ...args]);
  const byPid = new Map<string, Client>();
  for (let i = 0; i < 40 && byPid.size < 2; i++) {
    const client = await connect(server.ws);
    const pid = String(await client.ask('pid'));
    if (byPid.has(pid)) client.socket.close();
    else byPid.set(pid, client);
  }
  expect(byPid.size).toBe(2);
  const [first, second] = [...byPid.values()];
  expect(await second!.ask('sub room')).toBe('subscribed room');
  expect(await first!.ask('pub room across workers')).toBe('published');
  expect(await second!.next()).toBe('across workers');
}

const lines = (output: string, pattern: RegExp) =>
  output.split('\n').filter((line) => pattern.test(line));
const LOST = /pub\/sub: Redis at .* is unreachable/;
const BACK = /pub\/sub: Redis at \S+ answers again;/;

const title = 'mortar serve --pubsub with a real redis-server';
describe.skipIf(!redisAvailable)(
  redisAvailable ? title : `${title} — skipped: ${redisSkipReason}`,
  () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.remove();
    });

    it('two processes share topics; Redis down: local delivery goes on, one line; back: shared again', async () => {
      const [a, b] = await Promise.all([
        serveWith(['--pubsub', redis.url]),
        serveWith([], { MORTAR_PUBSUB: redis.url }),
      ]);
      const onA = await subscribed(a.ws);
      const [onB, alsoOnB] = await Promise.all([subscribed(b.ws), subscribed(b.ws)]);
      expect(await onA.ask('pub room from A')).toBe('published');
      expect(await onB.next()).toBe('from A');
      expect(await alsoOnB.next()).toBe('from A');
      expect(await onB.ask('pub room from B')).toBe('published');
      expect(await onA.next()).toBe('from B');
      expect(await alsoOnB.next()).toBe('from B');

      await redis.stop();
      await waitFor(b.output, LOST);
      for (let i = 0; i < 5; i++) {
        expect(await onB.ask(`pub room local ${i}`)).toBe('published');
        expect(await alsoOnB.next()).toBe(`local ${i}`);
      }
      await redis.start();
      await Promise.all([waitFor(a.output, BACK), waitFor(b.output, BACK)]);
      expect(lines(b.output(), LOST)).toHaveLength(1); // however many reconnection attempts failed
      expect(lines(a.output(), LOST)).toHaveLength(1);
      expect(await onA.ask('pub room again')).toBe('published');
      expect(await onB.next()).toBe('again');
      expect(await alsoOnB.next()).toBe('again');
    });

    it('--workers 2: a publish in one worker reaches a subscriber in the other', async () => {
      await publishAcrossWorkers(['--pubsub', redis.url]);
    });
  },
);

it('mortar serve --workers 2 without Redis: the workers share pub/sub through the primary', async () => {
  await publishAcrossWorkers([]);
});

it('mortar serve --pubsub with Redis down from the start: serves, delivers locally, one line, exits 0', async () => {
  const nobody = await freePort();
  const server = await serveWith(['--pubsub', `redis://127.0.0.1:${nobody}`]);
  await waitFor(server.output, LOST);
  const [sender, receiver] = await Promise.all([connect(server.ws), subscribed(server.ws)]);
  for (let i = 0; i < 5; i++) {
    expect(await sender.ask(`pub room ${i}`)).toBe('published');
    expect(await receiver.next()).toBe(String(i));
  }
  server.child.kill('SIGTERM'); // the shutdown does not wait for Redis
  expect((await receiver.closed).code).toBe(1001);
  expect(await server.exit).toBe(0);
  expect(lines(server.output(), LOST)).toHaveLength(1);
  expect(lines(server.output(), /redis|ioredis|pub\/sub/i)).toHaveLength(1);
});

describe('mortar serve --pubsub: bad values', () => {
  it.each([
    [['--pubsub', 'localhost:6379'], /--pubsub \(or MORTAR_PUBSUB\) takes a Redis URL/],
    [
      ['--pubsub', 'redis://127.0.0.1:6379', '--fastcgi', '9000'],
      /only HTTP carries WebSockets: leave out --fastcgi/,
    ],
    [
      ['--pubsub', 'redis://127.0.0.1:6379', '--port', '0'],
      /^mortar: --pubsub needs the ioredis package: npm install ioredis$/m,
    ],
  ])('%j: one line, exit 2', async (args, message) => {
    const refuse = path.join(root, 'test/fixtures/refuse-ioredis.cjs');
    const started = run(['serve', APP, ...args], { env: { NODE_OPTIONS: `--require ${refuse}` } });
    expect(await started.exit).toBe(2);
    expect(started.output()).toMatch(message);
    expect(started.output().trim().split('\n')).toHaveLength(1);
  });
});
