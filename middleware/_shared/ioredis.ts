/**
 * ioredis, an optional peer dependency (connect-redis does the same): loaded by the first
 * Redis store made (session's RedisStore, cache's RedisCacheStore), so installing mortar
 * installs no Redis client.
 */
import type * as IORedis from 'ioredis';
import { requireOptional } from '../../src/_internal/optional.js';

/**
 * The ioredis module.
 * @param who - The class that needs it (`RedisStore`), for the message.
 * @throws Error saying to `npm install ioredis` when it is not installed.
 */
export function loadIORedis(who: string): typeof IORedis {
  return requireOptional<typeof IORedis>(
    'ioredis',
    `${who} needs the ioredis package: npm install ioredis`,
  );
}
