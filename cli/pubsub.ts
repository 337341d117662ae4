/**
 * WebSocket pub/sub beyond one process. `mortar serve --workers N` shares it between its
 * workers through the primary (crossws's `cluster()` backplane, over node:cluster's IPC).
 * `mortar serve --pubsub redis://HOST:PORT` (or `MORTAR_PUBSUB`) shares it with every process
 * and host on one Redis — `peer.publish(topic, …)` reaches the subscribers of
 * `topic` on each of them. crossws's `redis()` backplane (`crossws/sync`) over ioredis, the
 * optional peer the Redis stores load too.
 *
 * Redis down: each publish still reaches this process's own sockets at once (crossws delivers
 * locally first, and never waits on the backplane); what is published meanwhile is not sent to
 * the other processes — never queued to arrive late. One line says so when Redis is lost, one
 * when it is back; the subscriber reconnects and subscribes again by itself.
 */
import type { SyncAdapter } from 'crossws';
import { cluster, type RedisClientLike, redis } from 'crossws/sync';
import type { Redis as IORedisClient } from 'ioredis';
import { loadIORedis } from '../middleware/_shared/ioredis.js';
import { LoadError } from './spec.js';

/** The Redis channel the processes share. */
export const PUBSUB_CHANNEL = 'mortar:websocket';

/**
 * The backplane of a `--workers` worker without `--pubsub`: publishes go through the primary
 * (which relays them: see `runWorkers`) to the other workers. A worker being taken out has
 * let go of the IPC channel: its last publishes stay local rather than fail.
 */
export function workersBackplane(): SyncAdapter {
  const relay = cluster({ channel: PUBSUB_CHANNEL });
  return (context) => {
    const driver = relay(context);
    return {
      ...driver,
      publish: (message) => (process.connected ? driver.publish(message) : undefined),
    };
  };
}

/** Milliseconds `mortar serve` waits for the first subscription before it serves anyway. */
const SUBSCRIBE_WAIT = 5000;

/** A Redis backplane for `serve(app, { websocket: { sync } })`. */
export interface Backplane {
  sync: SyncAdapter;
  /**
   * Resolves once this process is subscribed (so a publish elsewhere reaches it), or once
   * Redis was found down, or after 5 s: `mortar serve` then says it is serving.
   */
  ready: Promise<void>;
}

/**
 * The Redis backplane on `url` (`redis://` or `rediss://`, as ioredis reads them).
 * @param log - Where the lines about a lost and a recovered Redis go.
 * @throws LoadError saying to `npm install ioredis` when it is not installed.
 */
export function redisBackplane(url: string, log: (line: string) => void): Backplane {
  let Redis: typeof IORedisClient;
  try {
    ({ Redis } = loadIORedis('--pubsub'));
  } catch (error) {
    throw new LoadError((error as Error).message); // one line: what to install
  }
  // A publish while Redis is away fails at once (no offline queue: it would arrive late, and
  // grow without bound); the subscriber waits for Redis however long it takes.
  const publisher = new Redis(url, { enableOfflineQueue: false });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => {
    subscribed = resolve;
    setTimeout(resolve, SUBSCRIBE_WAIT).unref();
  });
  const health = watchHealth(url, [publisher, subscriber], log, subscribed);
  const subscriberSide: RedisClientLike = {
    publish: () => undefined, // crossws publishes on the publisher's side only
    duplicate: () => subscriberSide,
    subscribe: (channel) => subscriber.subscribe(channel).then(subscribed),
    on: (event, listener) => subscriber.on(event, listener),
    off: (event, listener) => subscriber.off(event, listener),
    // At shutdown: at once, even with Redis away (a QUIT would wait for it).
    quit: () => {
      health.closing = true;
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
  const client: RedisClientLike = {
    // While Redis is away a publish is local only: said once, by watchHealth.
    publish: (channel, message) =>
      publisher.status === 'ready' ? publisher.publish(channel, message) : undefined,
    subscribe: () => undefined,
    duplicate: () => subscriberSide,
  };
  return { sync: redis({ client, channel: PUBSUB_CHANNEL }), ready };
}

/**
 * One line when a connection to Redis is lost or cannot be made, one when every connection
 * is back; ioredis's own `error` events (one per reconnection attempt) are otherwise silent.
 */
function watchHealth(
  url: string,
  clients: IORedisClient[],
  log: (line: string) => void,
  foundDown: () => void,
): { closing: boolean } {
  const state = { closing: false };
  let down = false;
  const where = redactedUrl(url);
  const lost = (why: string): void => {
    foundDown();
    if (down || state.closing) return;
    down = true;
    log(
      `mortar: pub/sub: Redis at ${where} is unreachable (${why}); publishes reach this process's WebSockets only, until it answers again`,
    );
  };
  for (const client of clients) {
    client.on('error', (error: NodeJS.ErrnoException) => lost(error.code ?? error.message));
    client.on('close', () => lost('connection closed'));
    client.on('ready', () => {
      if (down && clients.every((c) => c.status === 'ready')) {
        down = false;
        log(`mortar: pub/sub: Redis at ${where} answers again; publishes reach every process`);
      }
    });
  }
  return state;
}

/** `url` without its password, for the log. */
function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.href.replace(/\/$/, '');
}
