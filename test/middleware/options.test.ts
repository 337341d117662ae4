import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accessLog } from '../../middleware/access-log/index.js';
import { bodyLimit } from '../../middleware/body-limit/index.js';
import { compress } from '../../middleware/compress/index.js';
import { csrf } from '../../middleware/csrf/index.js';
import { debug, errors } from '../../middleware/debug/index.js';
import { helloWorld } from '../../middleware/hello/index.js';
import { lint } from '../../middleware/lint/index.js';
import { proxyFix } from '../../middleware/proxy-fix/index.js';
import { session } from '../../middleware/session/index.js';
import { fileApp, serveStatic } from '../../middleware/static/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mortar-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'an-options-test-secret-that-is-long-enough';

describe('every middleware refuses an option it does not know', () => {
  it.each([
    [
      'session',
      () => session({ secret, resave: false } as never),
      /session: unknown option "resave"; the options are secret, store/,
    ],
    [
      'session cookie',
      () => session({ secret, cookie: { maxage: 60 } as never }),
      /session cookie: unknown option "maxage" \(did you mean "maxAge"\?\)/,
    ],
    [
      'serveStatic',
      () => serveStatic(dir, { maxage: 60 } as never),
      /serveStatic: unknown option "maxage" \(did you mean "maxAge"\?\)/,
    ],
    [
      'fileApp',
      () => fileApp(path.join(dir, 'x'), { listing: true } as never),
      /fileApp: unknown option "listing"/,
    ],
    ['debug', () => debug({ pin: '1234' } as never), /debug: unknown option "pin"/],
    [
      'debug capture',
      () => debug({ capture: { depth: 3 } as never }),
      /debug capture: unknown option "depth"/,
    ],
    ['errors', () => errors({ verbose: true } as never), /errors: unknown option "verbose"/],
    [
      'helloWorld',
      () => helloWorld({ route: '/x' } as never),
      /helloWorld: unknown option "route"/,
    ],
    ['proxyFix', () => proxyFix({ x_for: 1 } as never), /proxyFix: unknown option "x_for"/],
    [
      'accessLog',
      () => accessLog({ stream: process.stderr } as never),
      /accessLog: unknown option "stream"/,
    ],
    [
      'compress',
      () => compress({ filter: () => true } as never),
      /compress: unknown option "filter"/,
    ],
    [
      'bodyLimit',
      () => bodyLimit({ maxBytes: 1, limit: 2 } as never),
      /bodyLimit: unknown option "limit"/,
    ],
    ['lint', () => lint({ throw: true } as never), /lint: unknown option "throw"/],
    ['csrf', () => csrf({ cookie: true } as never), /csrf: unknown option "cookie"/],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(TypeError);
    expect(make).toThrow(message);
  });
});

describe('session durations are seconds', () => {
  it('refuses a cookie.maxAge or timeout that is plainly milliseconds', () => {
    expect(() => session({ secret, cookie: { maxAge: 3_600_000 } })).toThrow(
      /cookie\.maxAge is in seconds; 3600000 looks like milliseconds \(3600 s\?\)/,
    );
    expect(() => session({ secret, cookie: { maxAge: 86_400_000 } })).toThrow(
      /looks like milliseconds/,
    );
    expect(() => session({ secret, idleTimeout: 1_800_000 })).toThrow(/idleTimeout is in seconds/);
    expect(() => session({ secret, cookie: { maxAge: 2_592_000 } })).not.toThrow(); // 30 days
    expect(() => session({ secret, cookie: { maxAge: 3600 } })).not.toThrow();
  });
});
