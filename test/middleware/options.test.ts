import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLog, batchedWriter } from '../../middleware/access-log/index.js';
import { blockWatch, loopDelay } from '../../middleware/block-watch/index.js';
import { bodyLimit } from '../../middleware/body-limit/index.js';
import { cache, MemoryCacheStore, region } from '../../middleware/cache/index.js';
import { RedisCacheStore } from '../../middleware/cache/redis.js';
import { compress } from '../../middleware/compress/index.js';
import { csrf } from '../../middleware/csrf/index.js';
import { debug } from '../../middleware/debug/index.js';
import { errors } from '../../middleware/errors/index.js';
import { helloWorld } from '../../middleware/hello/index.js';
import { lint } from '../../middleware/lint/index.js';
import { profile } from '../../middleware/profile/index.js';
import { proxy } from '../../middleware/proxy/index.js';
import { proxy as nodeProxy, nodeTransport } from '../../middleware/proxy/node.js';
import { proxyFix } from '../../middleware/proxy-fix/index.js';
import { FileStore } from '../../middleware/session/file.js';
import { CookieStore, MemoryStore, session } from '../../middleware/session/index.js';
import { RedisStore } from '../../middleware/session/redis.js';
import { fileApp, serveStatic } from '../../middleware/static/index.js';
import { cascade, urlmap } from '../../middleware/urlmap/index.js';
import { ConfigError, isConfigError } from '../../src/_internal/config-error.js';
import { runCGI } from '../../src/gateways/cgi/index.js';
import { serveFastCGI } from '../../src/gateways/fastcgi/index.js';
import { serve, toNodeHandler } from '../../src/gateways/node/index.js';
import { serveSCGI } from '../../src/gateways/scgi/index.js';
import { type Application, FastResponse } from '../../src/index.js';
import { TestClient } from '../../src/testing/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mortar-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'an-options-test-secret-that-is-long-enough';

const app: Application = () => new FastResponse('ok');
const upstream = 'http://127.0.0.1:9/v1';
const sink = { write: () => true };

/**
 * Every factory that takes options, each with a typo of one of its options (and the name it
 * is a typo of) and an option of the wrong kind: [function, make(options), typo, meant,
 * wrong options, the option named wrong].
 */
const FACTORIES: [string, (options: object) => unknown, string, string, object, string][] = [
  ['session', (o) => session({ secret, ...o }), 'roling', 'rolling', { rolling: 'yes' }, 'rolling'],
  ['serveStatic', (o) => serveStatic(dir, o), 'maxage', 'maxAge', { etag: 'yes' }, 'etag'],
  [
    'fileApp',
    (o) => fileApp(path.join(dir, 'x'), o),
    'contentTyp',
    'contentType',
    { maxAge: -1 },
    'maxAge',
  ],
  ['debug', (o) => debug(o), 'trustProxies', 'trustProxy', { maxErrors: 0 }, 'maxErrors'],
  ['errors', (o) => errors(o), 'onerror', 'onError', { log: 'stderr' }, 'log'],
  ['helloWorld', (o) => helloWorld(o), 'pth', 'path', { answer: 'hi' }, 'answer'],
  ['proxyFix', (o) => proxyFix(o), 'trustedProxy', 'trustedProxies', { for: -1 }, 'for'],
  ['accessLog', (o) => accessLog(o), 'fromat', 'format', { format: 'apache' }, 'format'],
  [
    'compress',
    (o) => compress(o),
    'treshold',
    'threshold',
    { encodings: ['deflate'] },
    'encodings',
  ],
  [
    'bodyLimit',
    (o) => bodyLimit({ maxBytes: 1, ...o }),
    'maxbytes',
    'maxBytes',
    { maxBytes: '1M' },
    'maxBytes',
  ],
  ['lint', (o) => lint(o), 'stict', 'strict', { strict: 1 }, 'strict'],
  ['csrf', (o) => csrf(o), 'headername', 'headerName', { token: 'yes' }, 'token'],
  ['urlmap', (o) => urlmap({ '/': app }, o), 'notfound', 'notFound', { notFound: 404 }, 'notFound'],
  ['cascade', (o) => cascade([app], o), 'maxBodysize', 'maxBodySize', { catch: 404 }, 'catch'],
  [
    'MemoryStore',
    (o) => new MemoryStore(o),
    'maxSesions',
    'maxSessions',
    { maxSessions: 0 },
    'maxSessions',
  ],
  [
    'CookieStore',
    (o) => new CookieStore(o),
    'maxChunk',
    'maxChunks',
    { iterations: 1.5 },
    'iterations',
  ],
  [
    'FileStore',
    (o) => new FileStore(dir, o),
    'staleLocks',
    'staleLock',
    { sweepInterval: 60 },
    'sweepInterval',
  ],
  [
    'RedisStore',
    (o) => new RedisStore(o),
    'prefx',
    'prefix',
    { commandTimeout: '2s' },
    'commandTimeout',
  ],
  [
    'batchedWriter',
    (o) => batchedWriter(sink, o),
    'bufferSise',
    'bufferSize',
    { flushAfterMs: -1 },
    'flushAfterMs',
  ],
  [
    'serve',
    (o) => serve(app, { port: 0, handleSignals: false, ...o }),
    'annouce',
    'announce',
    { port: 70_000 },
    'port',
  ],
  [
    'serveFastCGI',
    (o) => serveFastCGI(app, { port: 0, handleSignals: false, ...o }),
    'annouce',
    'announce',
    { maxRequests: 0 },
    'maxRequests',
  ],
  [
    'serveSCGI',
    (o) => serveSCGI(app, { port: 0, handleSignals: false, ...o }),
    'maxHeadrSize',
    'maxHeaderSize',
    { idleTimeoutMs: '30s' },
    'idleTimeoutMs',
  ],
  [
    'runCGI',
    (o) => runCGI(app, { env: {}, stdout: sink as never, ...o }),
    'stdn',
    'stdin',
    { log: true },
    'log',
  ],
  [
    'toNodeHandler',
    (o) => toNodeHandler(app, o),
    'fallthough',
    'fallthrough',
    { fallthrough: 'yes' },
    'fallthrough',
  ],
  [
    'TestClient',
    (o) => new TestClient(app, o),
    'baseUrl',
    'baseURL',
    { followRedirects: 'always' },
    'followRedirects',
  ],
  [
    'proxy',
    (o) => proxy(upstream, o),
    'preserveHots',
    'preserveHost',
    { forwarded: 'rfc7239' },
    'forwarded',
  ],
  [
    'proxy',
    (o) => nodeProxy(upstream, o),
    'keepAliveTimout',
    'keepAliveTimeout',
    { connections: 0 },
    'connections',
  ],
  [
    'nodeTransport',
    (o) => nodeTransport(o),
    'conectTimeout',
    'connectTimeout',
    { connectTimeout: '10s' },
    'connectTimeout',
  ],
  ['profile', (o) => profile({ dir, ...o }), 'smaple', 'sample', { sample: 2 }, 'sample'],
  ['blockWatch', (o) => blockWatch(o), 'treshold', 'threshold', { threshold: 5 }, 'threshold'],
  ['loopDelay', (o) => loopDelay(o), 'intervall', 'interval', { resolution: 0.5 }, 'resolution'],
  ['cache', (o) => cache(o), 'maxEntrysize', 'maxEntrySize', { lockTimeout: '5s' }, 'lockTimeout'],
  ['region', (o) => region({ name: 'r', ttl: 1, ...o }), 'grase', 'grace', { ttl: 0 }, 'ttl'],
  [
    'MemoryCacheStore',
    (o) => new MemoryCacheStore(o),
    'maxsize',
    'maxSize',
    { maxSize: 0 },
    'maxSize',
  ],
  [
    'RedisCacheStore',
    (o) => new RedisCacheStore({ client: {} as never, ...o }),
    'pollIntervall',
    'pollInterval',
    { pollInterval: -1 },
    'pollInterval',
  ],
];

/** What `make` threw or rejected with (a gateway's factory is async), else `undefined`. */
async function failure(make: () => unknown): Promise<unknown> {
  try {
    await make();
  } catch (error) {
    return error;
  }
  return undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('one options idiom on every factory', () => {
  it('covers the 34 factories that take options (proxy twice: mortar/proxy and its node entry)', () => {
    expect(new Set(FACTORIES.map(([name]) => name)).size).toBe(34);
  });

  it.each(FACTORIES)(
    '%s: an unknown option is a ConfigError naming it and the nearest name',
    async (name, make, typo, meant) => {
      const error = await failure(() => make({ [typo]: 1 }));
      expect(isConfigError(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^${name}: unknown option "${typo}" — did you mean "${escapeRegExp(meant)}"\\?$`,
        ),
      );
    },
  );

  it.each(FACTORIES)(
    '%s: a value of the wrong kind is a ConfigError naming the option',
    async (name, make, _typo, _meant, wrong, option) => {
      const error = await failure(() => make(wrong));
      expect(isConfigError(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        new RegExp(`^${name}: option "${option}" must be .+, got .+$`),
      );
    },
  );
});

describe('every middleware refuses an option it does not know', () => {
  it.each([
    [
      'session',
      () => session({ secret, resave: false } as never),
      /^session: unknown option "resave" — the options are secret, store, name, cookie, idleTimeout, absoluteTimeout, rolling, log$/,
    ],
    [
      'session cookie',
      () => session({ secret, cookie: { maxage: 60 } as never }),
      /^session: unknown option "cookie\.maxage" — did you mean "cookie\.maxAge"\?$/,
    ],
    [
      'debug capture',
      () => debug({ capture: { depth: 3 } as never }),
      /^debug: unknown option "capture\.depth" — the options are capture\.frames/,
    ],
    [
      'debug errors',
      () => debug({ errors: { onErorr: () => {} } as never }),
      /^debug: unknown option "errors\.onErorr" — did you mean "errors\.onError"\?$/,
    ],
    [
      'serveStatic cache',
      () => serveStatic(dir, { cache: { tll: 5 } as never }),
      /^serveStatic: unknown option "cache\.tll" — did you mean "cache\.ttl"\?$/,
    ],
    [
      'proxy timeout',
      () => proxy(upstream, { timeout: { header: 1000 } as never }),
      /^proxy: unknown option "timeout\.header" — did you mean "timeout\.headers"\?$/,
    ],
    [
      'proxy rewrite (mortar/proxy/node)',
      () => nodeProxy(upstream, { rewrite: { cookiepath: false } as never }),
      /^proxy: unknown option "rewrite\.cookiepath" — did you mean "rewrite\.cookiePath"\?$/,
    ],
    [
      'profile trigger',
      () => profile({ dir, trigger: { qurey: 'profile' } as never }),
      /^profile: unknown option "trigger\.qurey" — did you mean "trigger\.query"\?$/,
    ],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
  });
});

describe('options renamed for their unit keep their old name, deprecated', () => {
  it('serveSCGI idleTimeoutMs, and idleTimeout for it, but not both', async () => {
    const both = await failure(() =>
      serveSCGI(app, { port: 0, handleSignals: false, idleTimeout: 1000, idleTimeoutMs: 2000 }),
    );
    expect((both as Error).message).toBe(
      'serveSCGI: options "idleTimeoutMs" and "idleTimeout" are one setting (idleTimeout is its deprecated name); give idleTimeoutMs only',
    );
  });

  it('debug capture.idleTimeoutMs is checked as milliseconds, as is its old name', () => {
    expect(() => debug({ capture: { idleTimeoutMs: 120 } })).toThrow(
      /^debug: option "capture\.idleTimeoutMs" must be milliseconds \(an integer ≥ 1000\), got 120$/,
    );
    expect(() => debug({ capture: { idleTimeout: 120 } })).toThrow(
      /^debug: option "capture\.idleTimeout" must be milliseconds/,
    );
  });
});

describe('session durations are seconds', () => {
  it('refuses a cookie.maxAge or timeout that is plainly milliseconds', () => {
    expect(() => session({ secret, cookie: { maxAge: 3_600_000 } })).toThrow(
      /cookie\.maxAge" is in seconds; 3600000 looks like milliseconds \(3600 s\?\)/,
    );
    expect(() => session({ secret, cookie: { maxAge: 86_400_000 } })).toThrow(
      /looks like milliseconds/,
    );
    expect(() => session({ secret, idleTimeout: 1_800_000 })).toThrow(
      /option "idleTimeout" is in seconds/,
    );
    expect(() => session({ secret, cookie: { maxAge: 2_592_000 } })).not.toThrow(); // 30 days
    expect(() => session({ secret, cookie: { maxAge: 3600 } })).not.toThrow();
  });
});

describe('the socket gateways take announce, as serve does', () => {
  it.each([
    ['serveFastCGI', serveFastCGI],
    ['serveSCGI', serveSCGI],
  ] as const)('%s says where it listens, unless announce is false', async (_name, start) => {
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const loud = await start(app, { port: 0, handleSignals: false, log });
    await loud.close();
    const quiet = await start(app, { port: 0, handleSignals: false, log, announce: false });
    await quiet.close();
    expect(lines).toEqual([`mortar: listening on ${loud.url}`]);
  });
});
